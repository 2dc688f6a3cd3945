package httproute

import (
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// Endpoints is a lock-free snapshot of the ready endpoints of every Service port (from
// EndpointSlices) and Envoy cluster (from ClusterLoadAssignments), kept current by
// watching the collections. Each entry is rebuilt only when one of its own slices
// changes; the address lists are shared, immutable and sorted, so the upstreams built
// from them come in a stable order.
type Endpoints struct {
	services sync.Map // "ns/name" → *serviceEndpoints
	clusters sync.Map // ClusterLoadAssignment name → []string

	synced  chan struct{}
	pending atomic.Int32 // watches whose first batch has not arrived
	cancels []func()
}

// serviceEndpoints is one Service's ready endpoints, by EndpointSlice port name.
type serviceEndpoints struct {
	byPort map[string][]string
}

// NewEndpoints watches slices and, if not nil, assignments. Stop it when done.
func NewEndpoints(slices collection.Collection[*discoveryv1.EndpointSlice], assignments collection.Collection[*resource.ClusterLoadAssignment]) *Endpoints {
	e := &Endpoints{synced: make(chan struct{})}
	n := 1
	if assignments != nil {
		n++
	}
	e.pending.Store(int32(n))
	e.cancels = append(e.cancels, e.watchSlices(slices))
	if assignments != nil {
		e.cancels = append(e.cancels, e.watchAssignments(assignments))
	}
	return e
}

// Stop ends the watches.
func (e *Endpoints) Stop() {
	for _, c := range e.cancels {
		c()
	}
}

// Synced is closed once the first view of every input has been taken in.
func (e *Endpoints) Synced() <-chan struct{} { return e.synced }

func (e *Endpoints) markSynced() {
	if e.pending.Add(-1) == 0 {
		close(e.synced)
	}
}

// Service returns the dial addresses of the ready endpoints of a Service's port, by the
// port's name as the EndpointSlices carry it ("" for an unnamed port). The slice is
// shared: do not modify it.
func (e *Endpoints) Service(namespace, name, portName string) []string {
	v, ok := e.services.Load(model.Key(namespace, name))
	if !ok {
		return nil
	}
	return v.(*serviceEndpoints).byPort[portName]
}

// Cluster returns the dial addresses of an Envoy cluster's ClusterLoadAssignment. The
// slice is shared: do not modify it.
func (e *Endpoints) Cluster(name string) []string {
	v, ok := e.clusters.Load(name)
	if !ok {
		return nil
	}
	return v.([]string)
}

// upstreamsOf returns new upstreams for the addresses: reverse_proxy fills in each
// upstream's host state per request, so upstreams cannot be shared between requests (as
// Caddy's own dynamic upstream sources do not share them either).
func upstreamsOf(dials []string) []*reverseproxy.Upstream {
	ups := make([]*reverseproxy.Upstream, len(dials))
	for i, d := range dials {
		ups[i] = &reverseproxy.Upstream{Dial: d}
	}
	return ups
}

// watchSlices follows EndpointSlices. The watch's goroutine alone touches bySvc, so it
// needs no lock; readers see only the published, immutable serviceEndpoints.
func (e *Endpoints) watchSlices(in collection.Collection[*discoveryv1.EndpointSlice]) func() {
	bySvc := make(map[string]map[string]*discoveryv1.EndpointSlice)
	synced := false
	return collection.WatchBatchSynced(in, func(events []collection.Event[*discoveryv1.EndpointSlice], inSynced bool) {
		touched := make(map[string]struct{})
		for _, ev := range events {
			if ev.Old != nil {
				if svc := sliceService(ev.Old); svc != "" {
					delete(bySvc[svc], ev.Key)
					touched[svc] = struct{}{}
				}
			}
			if ev.Type != collection.Deleted {
				if svc := sliceService(ev.New); svc != "" {
					if bySvc[svc] == nil {
						bySvc[svc] = make(map[string]*discoveryv1.EndpointSlice)
					}
					bySvc[svc][ev.Key] = ev.New
					touched[svc] = struct{}{}
				}
			}
		}
		for svc := range touched {
			if len(bySvc[svc]) == 0 {
				delete(bySvc, svc)
				e.services.Delete(svc)
				continue
			}
			e.services.Store(svc, buildServiceEndpoints(bySvc[svc]))
		}
		if inSynced && !synced {
			synced = true
			e.markSynced()
		}
	})
}

// sliceService returns the "ns/name" of the Service a slice belongs to, or "".
func sliceService(s *discoveryv1.EndpointSlice) string {
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return ""
	}
	return model.Key(s.Namespace, name)
}

// buildServiceEndpoints collects the ready addresses of a Service's slices by port name,
// sorted and without duplicates (an endpoint may appear in two slices while it moves).
func buildServiceEndpoints(slices map[string]*discoveryv1.EndpointSlice) *serviceEndpoints {
	dials := make(map[string][]string)
	for _, s := range slices {
		if s.AddressType == discoveryv1.AddressTypeFQDN {
			continue // not dialled by address; Services of type ExternalName are not proxied
		}
		for _, p := range s.Ports {
			if p.Port == nil {
				continue
			}
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			for _, ep := range s.Endpoints {
				if len(ep.Addresses) == 0 || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) {
					continue
				}
				dials[name] = append(dials[name], net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(*p.Port))))
			}
		}
	}
	out := &serviceEndpoints{byPort: make(map[string][]string, len(dials))}
	for name, ds := range dials {
		out.byPort[name] = sortedUnique(ds)
	}
	return out
}

// sortedUnique sorts the addresses and drops duplicates.
func sortedUnique(dials []string) []string {
	slices.Sort(dials)
	return slices.Compact(dials)
}

// watchAssignments follows ClusterLoadAssignments.
func (e *Endpoints) watchAssignments(in collection.Collection[*resource.ClusterLoadAssignment]) func() {
	synced := false
	return collection.WatchBatchSynced(in, func(events []collection.Event[*resource.ClusterLoadAssignment], inSynced bool) {
		for _, ev := range events {
			if ev.Type == collection.Deleted {
				e.clusters.Delete(ev.Key)
				continue
			}
			e.clusters.Store(ev.Key, sortedUnique(assignmentDials(ev.New)))
		}
		if inSynced && !synced {
			synced = true
			e.markSynced()
		}
	})
}

// assignmentDials returns the socket addresses of the highest priority that has usable
// endpoints: Envoy's failover, without its overprovisioning arithmetic.
func assignmentDials(cla *resource.ClusterLoadAssignment) []string {
	best := uint32(0)
	var dials []string
	for _, l := range cla.Localities {
		for _, ep := range l.Endpoints {
			if ep.Address.Kind != resource.AddressSocket || !usable(ep.Health) {
				continue
			}
			d := net.JoinHostPort(ep.Address.Host, strconv.Itoa(int(ep.Address.Port)))
			switch {
			case dials == nil || l.Priority < best:
				best, dials = l.Priority, []string{d}
			case l.Priority == best:
				dials = append(dials, d)
			}
		}
	}
	return dials
}

// usable reports whether Envoy would send traffic to an endpoint of this health.
func usable(h resource.HealthStatus) bool {
	switch h {
	case resource.HealthUnhealthy, resource.HealthDraining, resource.HealthTimeout:
		return false
	}
	return true
}
