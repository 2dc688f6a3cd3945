package resource

import (
	"net/netip"
	"slices"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestDecodeClusterLoadAssignment(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *endpointv3.ClusterLoadAssignment)
		reasons []string
		check   func(t *testing.T, c *ClusterLoadAssignment)
	}{
		{
			name: "valid",
			check: func(t *testing.T, c *ClusterLoadAssignment) {
				if c.Name() != "backend.default.svc" || c.OverprovisioningFactor != 140 || len(c.Localities) != 2 {
					t.Fatalf("name %q, factor %d, %d localities", c.Name(), c.OverprovisioningFactor, len(c.Localities))
				}
				first := c.Localities[0]
				if first.Locality != (Locality{Region: "eu-west", Zone: "eu-west-1a", SubZone: "rack1"}) || first.Priority != 0 || first.Weight != 10 {
					t.Errorf("first locality = %+v", first)
				}
				want := []Endpoint{
					{Address: Address{Kind: AddressSocket, Host: "10.0.0.1", IP: netip.MustParseAddr("10.0.0.1"), Port: 8080}, Health: HealthHealthy, Weight: 3},
					{Address: Address{Kind: AddressSocket, Host: "10.0.0.2", IP: netip.MustParseAddr("10.0.0.2"), Port: 8080}, Health: HealthDraining, Weight: 1},
				}
				if !slices.EqualFunc(first.Endpoints, want, endpointEqual) {
					t.Errorf("first endpoints:\n got %+v\nwant %+v", first.Endpoints, want)
				}
				second := c.Localities[1]
				if second.Priority != 1 || second.Weight != 0 || len(second.Endpoints) != 1 || second.Endpoints[0].Address.String() != "[2001:db8::1]:9090" {
					t.Errorf("second locality = %+v", second)
				}
			},
		},
		{
			name: "overprovisioning factor, named endpoints, host names, pipes",
			mutate: func(c *endpointv3.ClusterLoadAssignment) {
				c.Policy = &endpointv3.ClusterLoadAssignment_Policy{OverprovisioningFactor: wrapperspb.UInt32(100)}
				c.NamedEndpoints = map[string]*endpointv3.Endpoint{"db": {Address: socketAddr("db.internal", 5432), Hostname: "db"}}
				c.Endpoints[1].LbEndpoints = append(c.Endpoints[1].LbEndpoints,
					&endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_EndpointName{EndpointName: "db"}},
					&endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
						Address: &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: "@mesh"}}},
					}}},
				)
			},
			check: func(t *testing.T, c *ClusterLoadAssignment) {
				if c.OverprovisioningFactor != 100 {
					t.Errorf("factor = %d", c.OverprovisioningFactor)
				}
				eps := c.Localities[1].Endpoints
				if len(eps) != 3 || eps[1].Hostname != "db" || eps[1].Address.Host != "db.internal" || eps[1].Address.IP.IsValid() ||
					eps[2].Address.Kind != AddressPipe || eps[2].Address.Path != "@mesh" {
					t.Errorf("endpoints = %+v", eps)
				}
			},
		},
		{
			name: "every health status",
			mutate: func(c *endpointv3.ClusterLoadAssignment) {
				c.Endpoints[0].LbEndpoints = nil
				for s := range corev3.HealthStatus_name {
					e := staticEndpoint("10.0.0.1", uint32(1000+s))
					e.HealthStatus = corev3.HealthStatus(s)
					c.Endpoints[0].LbEndpoints = append(c.Endpoints[0].LbEndpoints, e)
				}
			},
			check: func(t *testing.T, c *ClusterLoadAssignment) {
				for _, e := range c.Localities[0].Endpoints {
					proto := corev3.HealthStatus(e.Address.Port - 1000)
					if e.Health.String() != map[corev3.HealthStatus]string{
						corev3.HealthStatus_UNKNOWN: "Unknown", corev3.HealthStatus_HEALTHY: "Healthy", corev3.HealthStatus_UNHEALTHY: "Unhealthy",
						corev3.HealthStatus_DRAINING: "Draining", corev3.HealthStatus_TIMEOUT: "Timeout", corev3.HealthStatus_DEGRADED: "Degraded",
					}[proto] {
						t.Errorf("%v maps to %v", proto, e.Health)
					}
				}
			},
		},
		{
			name: "endpoint on port 0",
			mutate: func(c *endpointv3.ClusterLoadAssignment) {
				c.Endpoints[0].LbEndpoints[1] = staticEndpoint("10.0.0.2", 0)
			},
			reasons: []string{"endpoints[0].lb_endpoints[1].endpoint.address: endpoint port is 0"},
		},
		{
			name: "endpoint with a named port",
			mutate: func(c *endpointv3.ClusterLoadAssignment) {
				c.Endpoints[0].LbEndpoints[0].GetEndpoint().Address = &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
					Address: "10.0.0.1", PortSpecifier: &corev3.SocketAddress_NamedPort{NamedPort: "http"},
				}}}
			},
			reasons: []string{`endpoints[0].lb_endpoints[0].endpoint.address: endpoint uses named port "http"`},
		},
		{
			name: "additional address on port 0",
			mutate: func(c *endpointv3.ClusterLoadAssignment) {
				c.Endpoints[0].LbEndpoints[0].GetEndpoint().AdditionalAddresses = []*endpointv3.Endpoint_AdditionalAddress{
					{Address: socketAddr("10.0.1.1", 8080)}, {Address: socketAddr("10.0.1.2", 0)},
				}
			},
			reasons: []string{"endpoints[0].lb_endpoints[0].endpoint.additional_addresses[1].address: endpoint port is 0"},
		},
		{
			name: "endpoint without an address",
			mutate: func(c *endpointv3.ClusterLoadAssignment) {
				c.Endpoints[1].LbEndpoints[0] = &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{}}}
			},
			reasons: []string{"endpoints[1].lb_endpoints[0].endpoint.address: endpoint has no address"},
		},
		{
			name: "missing named endpoint",
			mutate: func(c *endpointv3.ClusterLoadAssignment) {
				c.Endpoints[1].LbEndpoints[0] = &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_EndpointName{EndpointName: "gone"}}
			},
			reasons: []string{`endpoints[1].lb_endpoints[0].endpoint_name: named endpoint "gone" is not in named_endpoints`},
		},
		{
			name:    "no cluster name",
			mutate:  func(c *endpointv3.ClusterLoadAssignment) { c.ClusterName = "" },
			reasons: []string{"cluster_name: value length must be at least 1 runes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validClusterLoadAssignment()
			if tt.mutate != nil {
				tt.mutate(m)
			}
			c, err := DecodeClusterLoadAssignment(mustAny(t, m))
			checkReasons(t, err, tt.reasons)
			if err == nil && tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func endpointEqual(a, b Endpoint) bool {
	return a.Address == b.Address && a.Hostname == b.Hostname && a.Health == b.Health && a.Weight == b.Weight &&
		slices.Equal(a.AdditionalAddresses, b.AdditionalAddresses)
}
