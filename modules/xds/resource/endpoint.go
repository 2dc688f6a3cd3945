package resource

import (
	"encoding/json"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/proto"
)

// defaultOverprovisioningFactor is Envoy's overprovisioning factor, in percent, for an
// assignment that sets none.
const defaultOverprovisioningFactor = 140

// ClusterLoadAssignment is an EDS resource (or a Cluster's load_assignment): the endpoints
// of one cluster, grouped by locality and priority. Name is the cluster_name.
type ClusterLoadAssignment struct {
	meta
	// Localities are in the order the server sent them, each with its endpoints.
	Localities []LocalityEndpoints
	// OverprovisioningFactor, in percent, is how much a priority's healthy share is scaled
	// before traffic spills to the next priority; Envoy's default of 140 is applied when
	// unset.
	OverprovisioningFactor uint32
}

// MarshalJSON shows the view's fields with its name and type URL, for the admin API and
// logs. The proto and raw bytes are left out.
func (c *ClusterLoadAssignment) MarshalJSON() ([]byte, error) {
	type fields ClusterLoadAssignment
	return json.Marshal(struct {
		Name, TypeURL string
		*fields
	}{c.name, c.typeURL, (*fields)(c)})
}

// Proto returns the decoded proto.
func (c *ClusterLoadAssignment) Proto() proto.Message { return c.msg }

// Message returns the decoded proto, typed. It is shared: do not modify it.
func (c *ClusterLoadAssignment) Message() *endpointv3.ClusterLoadAssignment {
	return c.msg.(*endpointv3.ClusterLoadAssignment)
}

// Locality is where endpoints run, for locality-aware load balancing and failover.
type Locality struct {
	// Region is the broadest level, such as a cloud region.
	Region string
	// Zone is an availability zone within the region.
	Zone string
	// SubZone is a finer grouping within the zone, such as a rack; often "".
	SubZone string
}

// LocalityEndpoints is the endpoints of one locality at one priority.
type LocalityEndpoints struct {
	// Locality is where the endpoints run.
	Locality Locality
	// Priority is 0 for the highest; traffic goes to higher numbers only when lower ones
	// are not healthy enough.
	Priority uint32
	// Weight is the locality's load balancing weight; 0 when unset, which excludes the
	// locality from locality-weighted load balancing, as in Envoy.
	Weight uint32
	// Endpoints are the locality's hosts, with named endpoints resolved.
	Endpoints []Endpoint
	pb        *endpointv3.LocalityLbEndpoints
}

// Message returns the locality's proto, for fields this view does not flatten (metadata,
// proximity). It is shared: do not modify it.
func (l *LocalityEndpoints) Message() *endpointv3.LocalityLbEndpoints { return l.pb }

// Endpoint is one upstream host.
type Endpoint struct {
	// Address is where to connect; a socket address always has a port.
	Address Address
	// AdditionalAddresses are further addresses of the same host, for happy eyeballs.
	AdditionalAddresses []Address
	// Hostname is the host's name, for the Host header with auto_host_rewrite and for
	// logs.
	Hostname string
	// Health is the health the control plane reports for the host.
	Health HealthStatus
	// Weight is the host's load balancing weight within its locality; 1 when unset.
	Weight uint32
	pb     *endpointv3.LbEndpoint
}

// Message returns the endpoint's proto, for fields this view does not flatten, such as the
// metadata a control plane uses to mark which hosts accept mTLS. It is shared: do not
// modify it.
func (e *Endpoint) Message() *endpointv3.LbEndpoint { return e.pb }

// HealthStatus is an endpoint's health as the control plane reports it.
type HealthStatus uint8

// The health statuses, in the proto's order.
const (
	// HealthUnknown means no health information: the host is used.
	HealthUnknown HealthStatus = iota
	// HealthHealthy hosts are used.
	HealthHealthy
	// HealthUnhealthy hosts are not used.
	HealthUnhealthy
	// HealthDraining hosts are being removed: no new requests.
	HealthDraining
	// HealthTimeout hosts failed a health check by timing out.
	HealthTimeout
	// HealthDegraded hosts are used only when there are not enough healthy ones.
	HealthDegraded
)

var healthStatusNames = []string{"Unknown", "Healthy", "Unhealthy", "Draining", "Timeout", "Degraded"}

// String returns the status's name.
func (h HealthStatus) String() string { return enumString(healthStatusNames, int(h)) }

// MarshalText makes JSON show the status's name.
func (h HealthStatus) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// healthStatus converts the proto's status. A value outside the proto's enum, which
// generated validation already rejects, reads as unknown.
func healthStatus(h corev3.HealthStatus) HealthStatus {
	if h < 0 || int(h) >= len(healthStatusNames) {
		return HealthUnknown
	}
	return HealthStatus(h)
}

// buildClusterLoadAssignment builds the view of an assignment.
func buildClusterLoadAssignment(m *endpointv3.ClusterLoadAssignment, base meta, ps *problems) *ClusterLoadAssignment {
	return buildClusterLoadAssignmentAt(m, base, ps, nil)
}

// buildClusterLoadAssignmentAt builds an assignment found at a path, as a Cluster's
// load_assignment.
func buildClusterLoadAssignmentAt(m *endpointv3.ClusterLoadAssignment, base meta, ps *problems, at *path) *ClusterLoadAssignment {
	out := &ClusterLoadAssignment{meta: base, OverprovisioningFactor: defaultOverprovisioningFactor}
	if f := m.GetPolicy().GetOverprovisioningFactor(); f != nil {
		out.OverprovisioningFactor = f.GetValue()
	}
	eps := at.at("endpoints")
	out.Localities = make([]LocalityEndpoints, len(m.GetEndpoints()))
	for i, l := range m.GetEndpoints() {
		lat := eps.item(i)
		out.Localities[i] = buildLocality(ps, &lat, m, l)
	}
	return out
}

// buildLocality builds the view of one locality's endpoints.
func buildLocality(ps *problems, at *path, cla *endpointv3.ClusterLoadAssignment, l *endpointv3.LocalityLbEndpoints) LocalityEndpoints {
	out := LocalityEndpoints{
		Locality: Locality{
			Region:  l.GetLocality().GetRegion(),
			Zone:    l.GetLocality().GetZone(),
			SubZone: l.GetLocality().GetSubZone(),
		},
		Priority: l.GetPriority(),
		Weight:   l.GetLoadBalancingWeight().GetValue(),
		pb:       l,
	}
	lbs := at.at("lb_endpoints")
	out.Endpoints = make([]Endpoint, len(l.GetLbEndpoints()))
	for i, e := range l.GetLbEndpoints() {
		eat := lbs.item(i)
		out.Endpoints[i] = buildEndpoint(ps, &eat, cla, e)
	}
	return out
}

// buildEndpoint builds the view of one endpoint, resolving a named endpoint and checking
// that there is an address to connect to: an endpoint without an address or with port 0
// can never receive traffic, and Envoy rejects both.
func buildEndpoint(ps *problems, at *path, cla *endpointv3.ClusterLoadAssignment, e *endpointv3.LbEndpoint) Endpoint {
	out := Endpoint{Health: healthStatus(e.GetHealthStatus()), Weight: 1, pb: e}
	if w := e.GetLoadBalancingWeight(); w != nil {
		out.Weight = w.GetValue()
	}
	ep := e.GetEndpoint()
	eat := at.at("endpoint")
	if name, named := e.GetHostIdentifier().(*endpointv3.LbEndpoint_EndpointName); named {
		eat = at.at("endpoint_name")
		ep = cla.GetNamedEndpoints()[name.EndpointName]
		if ep == nil {
			ps.addf(&eat, "named endpoint %q is not in named_endpoints", name.EndpointName)
			return out
		}
	}
	out.Hostname = ep.GetHostname()
	aat := eat.at("address")
	out.Address = endpointAddress(ps, &aat, ep.GetAddress())
	if n := len(ep.GetAdditionalAddresses()); n > 0 {
		adds := eat.at("additional_addresses")
		out.AdditionalAddresses = make([]Address, n)
		for i, a := range ep.GetAdditionalAddresses() {
			item := adds.item(i)
			addr := item.at("address")
			out.AdditionalAddresses[i] = endpointAddress(ps, &addr, a.GetAddress())
		}
	}
	return out
}

// endpointAddress converts an endpoint address, requiring one that can be connected to.
func endpointAddress(ps *problems, at *path, a *corev3.Address) Address {
	out := buildAddress(a)
	switch {
	case out.Kind == AddressNone:
		ps.addf(at, "endpoint has no address")
	case out.Kind == AddressSocket && out.Port == 0 && out.NamedPort != "":
		ps.addf(at, "endpoint uses named port %q, which cannot be resolved; a port number is required", out.NamedPort)
	case out.Kind == AddressSocket && out.Port == 0:
		ps.addf(at, "endpoint port is 0")
	}
	return out
}
