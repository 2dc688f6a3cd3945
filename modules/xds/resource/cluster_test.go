package resource

import (
	"slices"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	pickfirstv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/pick_first/v3"
	ringhashv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/ring_hash/v3"
	roundrobinv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/round_robin/v3"
	wrrlocalityv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/wrr_locality/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestDecodeCluster(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(t *testing.T, c *clusterv3.Cluster)
		reasons []string
		check   func(t *testing.T, c *Cluster)
	}{
		{name: "valid", check: checkValidCluster},
		{
			name: "EDS cluster named by its cluster name",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.EdsClusterConfig.ServiceName = ""
			},
			check: func(t *testing.T, c *Cluster) {
				if c.EDSServiceName != "" || c.EDSName() != c.Name() {
					t.Errorf("EDS service name %q, EDS name %q", c.EDSServiceName, c.EDSName())
				}
			},
		},
		{
			name: "EDS cluster with neither service nor cluster name",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.Name, c.EdsClusterConfig = "", nil
			},
			reasons: []string{
				"name: value length must be at least 1 runes",
				"eds_cluster_config.service_name: an EDS cluster needs a service name or a cluster name",
			},
		},
		{
			name: "static cluster with a load assignment",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC}
				c.LoadAssignment = validClusterLoadAssignment()
			},
			check: func(t *testing.T, c *Cluster) {
				la := c.LoadAssignment
				if c.Discovery != DiscoveryStatic || la == nil || la.Name() != "backend.default.svc" || len(la.Localities) != 2 {
					t.Fatalf("discovery %v, load assignment %+v", c.Discovery, la)
				}
				if la.TypeURL() != ClusterLoadAssignmentTypeURL || !proto.Equal(la.Message(), c.Message().GetLoadAssignment()) {
					t.Error("load assignment view does not carry its proto")
				}
				var back endpointv3.ClusterLoadAssignment
				if err := proto.Unmarshal(la.Raw(), &back); err != nil || !proto.Equal(&back, la.Message()) {
					t.Errorf("embedded Raw does not round trip: %v", err)
				}
			},
		},
		{
			name: "static cluster with an endpoint on port 0",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC}
				c.LoadAssignment = validClusterLoadAssignment()
				c.LoadAssignment.Endpoints[1].LbEndpoints[0] = staticEndpoint("10.0.0.9", 0)
			},
			reasons: []string{"load_assignment.endpoints[1].lb_endpoints[0].endpoint.address: endpoint port is 0"},
		},
		{
			name: "strict DNS",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS}
			},
			check: func(t *testing.T, c *Cluster) {
				if c.Discovery != DiscoveryDNS || c.LogicalDNS {
					t.Errorf("discovery %v, logical %v", c.Discovery, c.LogicalDNS)
				}
			},
		},
		{
			name: "logical DNS",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_LOGICAL_DNS}
			},
			check: func(t *testing.T, c *Cluster) {
				if c.Discovery != DiscoveryDNS || !c.LogicalDNS {
					t.Errorf("discovery %v, logical %v", c.Discovery, c.LogicalDNS)
				}
			},
		},
		{
			name: "original destination, cluster provided",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}
				c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
			},
			check: func(t *testing.T, c *Cluster) {
				if c.Discovery != DiscoveryOriginalDst || c.LBPolicy != LBClusterProvided {
					t.Errorf("discovery %v, policy %v", c.Discovery, c.LBPolicy)
				}
			},
		},
		{
			name: "custom cluster type",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.ClusterDiscoveryType = &clusterv3.Cluster_ClusterType{ClusterType: &clusterv3.Cluster_CustomClusterType{
					Name: "envoy.clusters.aggregate", TypedConfig: mustAny(t, &wrapperspb.StringValue{}),
				}}
			},
			check: func(t *testing.T, c *Cluster) {
				if c.Discovery != DiscoveryCustom || c.CustomType != "envoy.clusters.aggregate" {
					t.Errorf("discovery %v %q", c.Discovery, c.CustomType)
				}
			},
		},
		{
			name: "defaults",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.ClusterDiscoveryType = nil
				c.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
				c.ConnectTimeout, c.TransportSocket, c.TypedExtensionProtocolOptions, c.CircuitBreakers = nil, nil, nil, nil
			},
			check: func(t *testing.T, c *Cluster) {
				if c.Discovery != DiscoveryStatic || c.LBPolicy != LBRoundRobin || c.ConnectTimeout != 5*time.Second ||
					c.TLS != nil || c.UpstreamProtocol != ProtocolHTTP1 || c.HTTP2 != nil || c.CircuitBreakers != nil {
					t.Errorf("cluster = %+v", c)
				}
			},
		},
		{
			name: "deprecated http2_protocol_options",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.TypedExtensionProtocolOptions = nil
				c.Http2ProtocolOptions = &corev3.Http2ProtocolOptions{InitialStreamWindowSize: wrapperspb.UInt32(1 << 20)}
			},
			check: func(t *testing.T, c *Cluster) {
				if c.UpstreamProtocol != ProtocolHTTP2 || c.HTTP2 == nil || c.HTTP2.InitialStreamWindowSize != 1<<20 {
					t.Errorf("protocol %v, HTTP/2 %+v", c.UpstreamProtocol, c.HTTP2)
				}
			},
		},
		{
			name: "ALPN auto config",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.TypedExtensionProtocolOptions[httpProtocolOptionsKey] = mustAny(t, &httpv3.HttpProtocolOptions{
					UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_AutoConfig{AutoConfig: &httpv3.HttpProtocolOptions_AutoHttpConfig{}},
				})
			},
			check: func(t *testing.T, c *Cluster) {
				if c.UpstreamProtocol != ProtocolAuto || c.HTTP2 == nil {
					t.Errorf("protocol %v, HTTP/2 %+v", c.UpstreamProtocol, c.HTTP2)
				}
			},
		},
		{
			name: "explicit HTTP/1.1",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.TypedExtensionProtocolOptions[httpProtocolOptionsKey] = mustAny(t, &httpv3.HttpProtocolOptions{
					UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
						ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}},
					}},
				})
			},
			check: func(t *testing.T, c *Cluster) {
				if c.UpstreamProtocol != ProtocolHTTP1 || c.HTTP2 != nil {
					t.Errorf("protocol %v, HTTP/2 %+v", c.UpstreamProtocol, c.HTTP2)
				}
			},
		},
		{
			name: "protocol options of the wrong type",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.TypedExtensionProtocolOptions[httpProtocolOptionsKey] = mustAny(t, &corev3.Http2ProtocolOptions{})
			},
			reasons: []string{"typed_extension_protocol_options[envoy.extensions.upstreams.http.v3.HttpProtocolOptions]: holds envoy.config.core.v3.Http2ProtocolOptions"},
		},
		{
			name: "protocol options failing generated validation",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.TypedExtensionProtocolOptions[httpProtocolOptionsKey] = mustAny(t, &httpv3.HttpProtocolOptions{})
			},
			reasons: []string{"typed_extension_protocol_options[envoy.extensions.upstreams.http.v3.HttpProtocolOptions].upstream_protocol_options: value is required"},
		},
		{
			name: "wrr_locality around round robin",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
				c.LoadBalancingPolicy = lbPolicy(t, &wrrlocalityv3.WrrLocality{EndpointPickingPolicy: lbPolicy(t, &roundrobinv3.RoundRobin{})})
			},
			check: func(t *testing.T, c *Cluster) {
				if c.LBPolicy != LBRoundRobin || c.LBPolicyExtension != string(fullName(&roundrobinv3.RoundRobin{})) {
					t.Errorf("policy %v %q", c.LBPolicy, c.LBPolicyExtension)
				}
			},
		},
		{
			name: "first known policy wins",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.LoadBalancingPolicy = lbPolicy(t, &wrapperspb.StringValue{}, &ringhashv3.RingHash{}, &roundrobinv3.RoundRobin{})
			},
			check: func(t *testing.T, c *Cluster) {
				if c.LBPolicy != LBRingHash {
					t.Errorf("policy %v", c.LBPolicy)
				}
			},
		},
		{
			name: "known policy with an invalid config",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.LoadBalancingPolicy = lbPolicy(t, &ringhashv3.RingHash{MinimumRingSize: wrapperspb.UInt64(1 << 30)})
			},
			reasons: []string{"load_balancing_policy.policies[0].typed_extension_config.typed_config.minimum_ring_size: value must be inside range"},
		},
		{
			name: "unknown policy extension",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.LoadBalancingPolicy = lbPolicy(t, &pickfirstv3.PickFirst{})
			},
			check: func(t *testing.T, c *Cluster) {
				if c.LBPolicy != LBCustom || c.LBPolicyExtension != string(fullName(&pickfirstv3.PickFirst{})) {
					t.Errorf("policy %v %q", c.LBPolicy, c.LBPolicyExtension)
				}
			},
		},
		{
			name: "wrr_locality nested too deep",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				var p proto.Message = &roundrobinv3.RoundRobin{}
				for range maxWrrLocalityDepth + 1 {
					p = &wrrlocalityv3.WrrLocality{EndpointPickingPolicy: lbPolicy(t, p)}
				}
				c.LoadBalancingPolicy = lbPolicy(t, p)
			},
			reasons: []string{"load_balancing_policy.policies[0].typed_extension_config.typed_config.endpoint_picking_policy.policies[0]"},
		},
		{
			name: "policy config enum without a policy",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.LbPolicy = clusterv3.Cluster_LOAD_BALANCING_POLICY_CONFIG
			},
			reasons: []string{"lb_policy: LOAD_BALANCING_POLICY_CONFIG needs load_balancing_policy"},
		},
		{
			name: "connect timeout out of range",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.ConnectTimeout = &durationpb.Duration{Seconds: 1, Nanos: -1}
			},
			// Generated validation reports it first; the same field is not reported twice.
			reasons: []string{"connect_timeout: value is not a valid duration"},
		},
		{
			name: "negative connect timeout",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.ConnectTimeout = durationpb.New(-time.Second)
			},
			reasons: []string{"connect_timeout: value must be greater than 0s"},
		},
		{
			name: "upstream TLS with an inline certificate that does not parse",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.TransportSocket = tlsSocket(t, &tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
					TlsCertificates: []*tlsv3.TlsCertificate{{CertificateChain: inlineString("not PEM"), PrivateKey: inlineString("secret")}},
				}})
			},
			reasons: []string{"transport_socket.typed_config.common_tls_context.tls_certificates[0].certificate_chain: no PEM certificate found"},
		},
		{
			name: "transport socket that is not TLS",
			mutate: func(t *testing.T, c *clusterv3.Cluster) {
				c.TransportSocket = &corev3.TransportSocket{Name: "envoy.transport_sockets.raw_buffer",
					ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(t, &wrapperspb.StringValue{})}}
			},
			check: func(t *testing.T, c *Cluster) {
				if c.TLS != nil || c.TransportSocket != "envoy.transport_sockets.raw_buffer" {
					t.Errorf("TLS %+v, socket %q", c.TLS, c.TransportSocket)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validCluster(t)
			if tt.mutate != nil {
				tt.mutate(t, m)
			}
			c, err := DecodeCluster(mustAny(t, m))
			checkReasons(t, err, tt.reasons)
			if err == nil && tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func checkValidCluster(t *testing.T, c *Cluster) {
	t.Helper()
	if c.Name() != "outbound|8080||backend.default.svc" || c.Discovery != DiscoveryEDS || c.EDSName() != "backend.default.svc" {
		t.Errorf("name %q discovery %v EDS name %q", c.Name(), c.Discovery, c.EDSName())
	}
	if c.LBPolicy != LBLeastRequest || c.ConnectTimeout != 2*time.Second {
		t.Errorf("policy %v, connect timeout %v", c.LBPolicy, c.ConnectTimeout)
	}
	if c.UpstreamProtocol != ProtocolHTTP2 || c.HTTP2 == nil || c.HTTP2.MaxConcurrentStreams != 100 {
		t.Errorf("protocol %v, HTTP/2 %+v", c.UpstreamProtocol, c.HTTP2)
	}
	if c.TLS == nil || c.TLS.SNI != "backend.default.svc" || !slices.Equal(c.TLS.CertificateSDS, []string{"default"}) ||
		c.TLS.ValidationContextSDS != "ROOTCA" || c.TLS.ValidationContext != nil {
		t.Errorf("TLS = %+v", c.TLS)
	}
	want := []Thresholds{
		{Priority: PriorityDefault, MaxConnections: 100, MaxPendingRequests: 1024, MaxRequests: 1024, MaxRetries: 5},
		{Priority: PriorityHigh, MaxConnections: 1024, MaxPendingRequests: 1024, MaxRequests: 2000, MaxRetries: 3},
	}
	if !slices.Equal(c.CircuitBreakers, want) {
		t.Errorf("circuit breakers:\n got %+v\nwant %+v", c.CircuitBreakers, want)
	}
	if c.LoadAssignment != nil {
		t.Errorf("EDS cluster has a load assignment %v", c.LoadAssignment)
	}
}

// TestClusterLBPolicies checks the mapping of every lb_policy value.
func TestClusterLBPolicies(t *testing.T) {
	for in, want := range map[clusterv3.Cluster_LbPolicy]LBPolicy{
		clusterv3.Cluster_ROUND_ROBIN:      LBRoundRobin,
		clusterv3.Cluster_LEAST_REQUEST:    LBLeastRequest,
		clusterv3.Cluster_RANDOM:           LBRandom,
		clusterv3.Cluster_MAGLEV:           LBMaglev,
		clusterv3.Cluster_RING_HASH:        LBRingHash,
		clusterv3.Cluster_CLUSTER_PROVIDED: LBClusterProvided,
	} {
		m := validCluster(t)
		m.LbPolicy = in
		c, err := DecodeCluster(mustAny(t, m))
		if err != nil {
			t.Fatalf("%v: %v", in, err)
		}
		if c.LBPolicy != want {
			t.Errorf("%v: got %v, want %v", in, c.LBPolicy, want)
		}
	}
}

// lbPolicy builds a load_balancing_policy list from policy configs.
func lbPolicy(t *testing.T, configs ...proto.Message) *clusterv3.LoadBalancingPolicy {
	out := &clusterv3.LoadBalancingPolicy{}
	for _, c := range configs {
		out.Policies = append(out.Policies, &clusterv3.LoadBalancingPolicy_Policy{
			TypedExtensionConfig: &corev3.TypedExtensionConfig{Name: string(fullName(c)), TypedConfig: mustAny(t, c)},
		})
	}
	return out
}
