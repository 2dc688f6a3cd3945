package resource

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Envoy's circuit breaker limits for thresholds that leave them unset.
const (
	defaultMaxConnections     = 1024
	defaultMaxPendingRequests = 1024
	defaultMaxRequests        = 1024
	defaultMaxRetries         = 3
)

// RoutingPriority is the priority class circuit breaker thresholds apply to.
type RoutingPriority uint8

// The routing priorities.
const (
	// PriorityDefault is the class of ordinary routes.
	PriorityDefault RoutingPriority = iota
	// PriorityHigh is the class of routes marked high priority.
	PriorityHigh
)

var routingPriorityNames = []string{"Default", "High"}

// String returns the priority's name.
func (p RoutingPriority) String() string { return enumString(routingPriorityNames, int(p)) }

// MarshalText makes JSON show the priority's name.
func (p RoutingPriority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Thresholds are the circuit breaker limits of one priority class. The limits are what
// Envoy enforces: its defaults fill the ones left unset, so a consumer never has to know
// them.
type Thresholds struct {
	// Priority is the class the limits apply to.
	Priority RoutingPriority
	// MaxConnections bounds the connections to all hosts of the cluster.
	MaxConnections uint32
	// MaxPendingRequests bounds the requests waiting for a connection.
	MaxPendingRequests uint32
	// MaxRequests bounds the requests in flight.
	MaxRequests uint32
	// MaxRetries bounds the retries in flight.
	MaxRetries uint32
}

// buildCircuitBreakers flattens a cluster's thresholds, in the order sent.
func buildCircuitBreakers(cb *clusterv3.CircuitBreakers) []Thresholds {
	if len(cb.GetThresholds()) == 0 {
		return nil
	}
	out := make([]Thresholds, len(cb.GetThresholds()))
	for i, t := range cb.GetThresholds() {
		out[i] = Thresholds{
			Priority:           PriorityDefault,
			MaxConnections:     uint32Or(t.GetMaxConnections(), defaultMaxConnections),
			MaxPendingRequests: uint32Or(t.GetMaxPendingRequests(), defaultMaxPendingRequests),
			MaxRequests:        uint32Or(t.GetMaxRequests(), defaultMaxRequests),
			MaxRetries:         uint32Or(t.GetMaxRetries(), defaultMaxRetries),
		}
		if t.GetPriority() == corev3.RoutingPriority_HIGH {
			out[i].Priority = PriorityHigh
		}
	}
	return out
}

// uint32Or returns a wrapper's value, or def when the wrapper is unset.
func uint32Or(v *wrapperspb.UInt32Value, def uint32) uint32 {
	if v == nil {
		return def
	}
	return v.GetValue()
}
