package resource

import (
	"encoding/json"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/proto"
)

// defaultConnectTimeout is Envoy's connect timeout for a cluster that sets none.
const defaultConnectTimeout = 5 * time.Second

// Cluster is a CDS resource: a named group of upstream hosts and how to reach them.
type Cluster struct {
	meta
	// Discovery says where the cluster's hosts come from.
	Discovery DiscoveryType
	// LogicalDNS is set for a DNS cluster that uses one resolved address at a time
	// (LOGICAL_DNS) rather than all of them (STRICT_DNS).
	LogicalDNS bool
	// CustomType names the cluster extension, for DiscoveryCustom (an aggregate cluster,
	// for example).
	CustomType string
	// EDSServiceName is the eds_cluster_config.service_name as sent; EDSName applies the
	// default.
	EDSServiceName string
	// LBPolicy is how a host is picked.
	LBPolicy LBPolicy
	// LBPolicyExtension is the type name of the load_balancing_policy extension chosen, for
	// LBCustom; for the known policies it names the extension they came from, if any.
	LBPolicyExtension string
	// ConnectTimeout bounds connection establishment, with Envoy's default of 5 s applied.
	ConnectTimeout time.Duration
	// TransportSocket is the name of the transport socket; "" for plaintext.
	TransportSocket string
	// TLS is the upstream TLS context, when the transport socket is TLS.
	TLS *UpstreamTLSContext
	// UpstreamProtocol is the HTTP protocol spoken to the hosts.
	UpstreamProtocol UpstreamProtocol
	// HTTP2 is set when HTTP/2 may be spoken to the hosts: explicitly, by ALPN, or by
	// following the downstream protocol.
	HTTP2 *HTTP2Options
	// CircuitBreakers are the thresholds per routing priority, with Envoy's defaults
	// applied to the limits left unset.
	CircuitBreakers []Thresholds
	// LoadAssignment is the cluster's own endpoints, used by static and DNS clusters; nil
	// when absent.
	LoadAssignment *ClusterLoadAssignment
}

// MarshalJSON shows the view's fields with its name and type URL, for the admin API and
// logs. The proto and raw bytes are left out.
func (c *Cluster) MarshalJSON() ([]byte, error) {
	type fields Cluster
	return json.Marshal(struct {
		Name, TypeURL string
		*fields
	}{c.name, c.typeURL, (*fields)(c)})
}

// Proto returns the decoded proto.
func (c *Cluster) Proto() proto.Message { return c.msg }

// Message returns the decoded proto, typed. It is shared: do not modify it.
func (c *Cluster) Message() *clusterv3.Cluster { return c.msg.(*clusterv3.Cluster) }

// EDSName is the name to subscribe to for an EDS cluster's endpoints: the service name,
// or the cluster's own name when that is empty, as in Envoy.
func (c *Cluster) EDSName() string {
	if c.EDSServiceName != "" {
		return c.EDSServiceName
	}
	return c.name
}

// DiscoveryType says where a cluster's hosts come from.
type DiscoveryType uint8

// The discovery types.
const (
	// DiscoveryStatic hosts are listed in the cluster's load_assignment.
	DiscoveryStatic DiscoveryType = iota + 1
	// DiscoveryEDS hosts come from an EDS ClusterLoadAssignment named EDSName.
	DiscoveryEDS
	// DiscoveryDNS hosts are the addresses the load_assignment's names resolve to
	// (STRICT_DNS, or LOGICAL_DNS with LogicalDNS set).
	DiscoveryDNS
	// DiscoveryOriginalDst sends each connection to its original destination.
	DiscoveryOriginalDst
	// DiscoveryCustom is a cluster extension, named by CustomType.
	DiscoveryCustom
)

var discoveryTypeNames = []string{"", "Static", "EDS", "DNS", "OriginalDst", "Custom"}

// String returns the type's name.
func (d DiscoveryType) String() string { return enumString(discoveryTypeNames, int(d)) }

// MarshalText makes JSON show the type's name.
func (d DiscoveryType) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// discoveryTypes maps the proto's discovery types; a value outside the enum, which
// generated validation rejects, maps to 0.
var discoveryTypes = map[clusterv3.Cluster_DiscoveryType]DiscoveryType{
	clusterv3.Cluster_STATIC:       DiscoveryStatic,
	clusterv3.Cluster_EDS:          DiscoveryEDS,
	clusterv3.Cluster_STRICT_DNS:   DiscoveryDNS,
	clusterv3.Cluster_LOGICAL_DNS:  DiscoveryDNS,
	clusterv3.Cluster_ORIGINAL_DST: DiscoveryOriginalDst,
}

// buildCluster builds the view of a cluster.
func buildCluster(m *clusterv3.Cluster, base meta, ps *problems) *Cluster {
	cat := rootPath("connect_timeout")
	out := &Cluster{
		meta:            base,
		EDSServiceName:  m.GetEdsClusterConfig().GetServiceName(),
		ConnectTimeout:  durationOr(ps, &cat, m.GetConnectTimeout(), defaultConnectTimeout),
		TransportSocket: m.GetTransportSocket().GetName(),
	}
	switch t := m.GetClusterDiscoveryType().(type) {
	case *clusterv3.Cluster_Type:
		out.Discovery = discoveryTypes[t.Type]
		out.LogicalDNS = t.Type == clusterv3.Cluster_LOGICAL_DNS
	case *clusterv3.Cluster_ClusterType:
		out.Discovery, out.CustomType = DiscoveryCustom, t.ClusterType.GetName()
	default:
		// An unset oneof is the default discovery type, STATIC.
		out.Discovery = DiscoveryStatic
	}
	if out.Discovery == DiscoveryEDS && out.EDSName() == "" {
		eat := rootPath("eds_cluster_config")
		sat := eat.at("service_name")
		ps.addf(&sat, "an EDS cluster needs a service name or a cluster name to subscribe to")
	}
	buildLBPolicy(ps, m, out)
	buildHTTPProtocol(ps, m, out)
	out.CircuitBreakers = buildCircuitBreakers(m.GetCircuitBreakers())
	if ts := m.GetTransportSocket(); ts != nil {
		tat := rootPath("transport_socket")
		out.TLS = upstreamTLS(ps, &tat, ts)
	}
	if la := m.GetLoadAssignment(); la != nil {
		lat := rootPath("load_assignment")
		out.LoadAssignment = buildClusterLoadAssignmentAt(la,
			meta{name: la.GetClusterName(), typeURL: ClusterLoadAssignmentTypeURL, msg: la}, ps, &lat)
	}
	return out
}
