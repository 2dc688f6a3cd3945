package resource

import (
	"crypto/tls"
	"net/netip"
	"slices"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestDecodeListener(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(t *testing.T, l *listenerv3.Listener)
		// reasons are prefixes of the expected reasons, in order; nil for a valid
		// listener.
		reasons []string
		check   func(t *testing.T, l *Listener)
	}{
		{
			name:  "valid",
			check: checkValidListener,
		},
		{
			name: "unix socket",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				l.Address = &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: "/run/mesh.sock", Mode: 0o600}}}
			},
			check: func(t *testing.T, l *Listener) {
				if l.Address.Kind != AddressPipe || l.Address.Path != "/run/mesh.sock" || l.Address.Mode != 0o600 {
					t.Errorf("address = %+v", l.Address)
				}
				if got := l.Address.String(); got != "unix:/run/mesh.sock" {
					t.Errorf("address string = %q", got)
				}
			},
		},
		{
			name: "API listener needs no address",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				l.Address, l.FilterChains, l.DefaultFilterChain = nil, nil, nil
				l.ApiListener = &listenerv3.ApiListener{ApiListener: mustAny(t, rdsHCM(t, "grpc-routes"))}
			},
			check: func(t *testing.T, l *Listener) {
				if l.Address.Kind != AddressNone || l.APIListener == nil || l.APIListener.RouteConfigName != "grpc-routes" {
					t.Errorf("address %+v, API listener %+v", l.Address, l.APIListener)
				}
				if got := l.RouteConfigNames(); !slices.Equal(got, []string{"grpc-routes"}) {
					t.Errorf("route config names = %q", got)
				}
			},
		},
		{
			name: "internal listener needs no address",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				l.Address = nil
				l.ListenerSpecifier = &listenerv3.Listener_InternalListener{InternalListener: &listenerv3.Listener_InternalListenerConfig{}}
			},
			check: func(t *testing.T, l *Listener) {
				if !l.Internal {
					t.Error("not internal")
				}
			},
		},
		{
			name:    "no address",
			mutate:  func(t *testing.T, l *listenerv3.Listener) { l.Address = nil },
			reasons: []string{"listener has no address"},
		},
		{
			name:    "host name address",
			mutate:  func(t *testing.T, l *listenerv3.Listener) { l.Address = socketAddr("localhost", 80) },
			reasons: []string{`address: listener address "localhost" is not an IP address`},
		},
		{
			name: "additional address is a host name",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				l.AdditionalAddresses = []*listenerv3.AdditionalAddress{{Address: socketAddr("::", 8443)}, {Address: socketAddr("example.com", 1)}}
			},
			reasons: []string{`additional_addresses[1].address: listener address "example.com" is not an IP address`},
		},
		{
			name: "API listener holding something else",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				l.ApiListener = &listenerv3.ApiListener{ApiListener: mustAny(t, &routev3.RouteConfiguration{})}
			},
			reasons: []string{"api_listener.api_listener: holds envoy.config.route.v3.RouteConfiguration, not an HTTP connection manager"},
		},
		{
			name: "identical filter chain matches",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				dup := proto.Clone(l.FilterChains[1]).(*listenerv3.FilterChain)
				dup.Name = "copy"
				l.FilterChains = append(l.FilterChains, dup)
			},
			reasons: []string{"filter_chains[2].filter_chain_match: matches the same connections as filter_chains[1]"},
		},
		{
			name: "overlapping server names",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				other := proto.Clone(l.FilterChains[0]).(*listenerv3.FilterChain)
				other.FilterChainMatch.ServerNames = []string{"other.example.com", "*.example.org"}
				l.FilterChains = append(l.FilterChains, other)
			},
			reasons: []string{"filter_chains[2].filter_chain_match: matches the same connections as filter_chains[0]"},
		},
		{
			name: "same masked prefix",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				other := proto.Clone(l.FilterChains[1]).(*listenerv3.FilterChain)
				other.FilterChainMatch.PrefixRanges = []*corev3.CidrRange{{AddressPrefix: "10.200.0.0", PrefixLen: wrapperspb.UInt32(8)}}
				l.FilterChains = append(l.FilterChains, other)
			},
			reasons: []string{"filter_chains[2].filter_chain_match: matches the same connections as filter_chains[1]"},
		},
		{
			name: "distinct matches differing in one field",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				other := proto.Clone(l.FilterChains[1]).(*listenerv3.FilterChain)
				other.FilterChainMatch.DestinationPort = wrapperspb.UInt32(9090)
				l.FilterChains = append(l.FilterChains, other)
			},
		},
		{
			name: "bad CIDR ranges",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				l.FilterChains[1].FilterChainMatch.PrefixRanges = []*corev3.CidrRange{
					{AddressPrefix: "10.0.0.0.1", PrefixLen: wrapperspb.UInt32(8)},
					{AddressPrefix: "10.0.0.0", PrefixLen: wrapperspb.UInt32(33)},
				}
			},
			reasons: []string{
				// Generated validation bounds prefix_len at 128 only.
				`filter_chains[1].filter_chain_match.prefix_ranges[0].address_prefix: "10.0.0.0.1" is not an IP address`,
				"filter_chains[1].filter_chain_match.prefix_ranges[1].prefix_len: prefix length 33 exceeds the 32 bits of 10.0.0.0",
			},
		},
		{
			name: "inline route with a bad regex",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				rc := validRouteConfiguration(t)
				rc.VirtualHosts[0].Routes[0].Match.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: "/api/(v1"}}
				l.FilterChains[1].Filters[0] = networkFilter(t, "hcm", inlineHCM(t, rc))
			},
			reasons: []string{"filter_chains[1].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match.safe_regex: regular expression does not compile"},
		},
		{
			name: "HTTP connection manager failing generated validation",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				h := rdsHCM(t, "web-routes")
				h.StatPrefix = ""
				l.FilterChains[0].Filters[0] = networkFilter(t, "hcm", h)
			},
			reasons: []string{"filter_chains[0].filters[0].typed_config.stat_prefix: value length must be at least 1 runes"},
		},
		{
			name: "filter without a name",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				l.FilterChains[0].Filters[0].Name = ""
			},
			reasons: []string{"filter_chains[0].filters[0].name: value length must be at least 1 runes"},
		},
		{
			name: "TLS context that does not unmarshal",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				l.FilterChains[0].GetTransportSocket().GetTypedConfig().Value = []byte{0x0a, 0xff}
			},
			reasons: []string{"filter_chains[0].transport_socket.typed_config: cannot unmarshal envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"},
		},
		{
			name: "TLS context with a SAN regex that does not compile",
			mutate: func(t *testing.T, l *listenerv3.Listener) {
				ctx := &tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
					ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
						MatchSubjectAltNames: []*matcherv3.StringMatcher{regexMatcher("spiffe://[")},
					}},
				}}
				l.FilterChains[0].TransportSocket = tlsSocket(t, ctx)
			},
			reasons: []string{"filter_chains[0].transport_socket.typed_config.common_tls_context.validation_context.match_subject_alt_names[0].safe_regex: regular expression does not compile"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validListener(t)
			if tt.mutate != nil {
				tt.mutate(t, m)
			}
			l, err := DecodeListener(mustAny(t, m))
			checkReasons(t, err, tt.reasons)
			if err == nil && tt.check != nil {
				tt.check(t, l)
			}
		})
	}
}

func checkValidListener(t *testing.T, l *Listener) {
	t.Helper()
	if l.Name() != "ingress" || l.TypeURL() != ListenerTypeURL {
		t.Errorf("name %q type %q", l.Name(), l.TypeURL())
	}
	if l.Address.Kind != AddressSocket || l.Address.IP != netip.MustParseAddr("0.0.0.0") || l.Address.Port != 8443 {
		t.Errorf("address = %+v", l.Address)
	}
	if len(l.FilterChains) != 2 || l.DefaultFilterChain == nil {
		t.Fatalf("%d filter chains, default %v", len(l.FilterChains), l.DefaultFilterChain)
	}
	https := l.FilterChains[0]
	if !slices.Equal(https.Match.ServerNames, []string{"web.example.com", "*.example.org"}) ||
		https.Match.TransportProtocol != "tls" || !slices.Equal(https.Match.ApplicationProtocols, []string{"h2"}) {
		t.Errorf("https match = %+v", https.Match)
	}
	hcm := https.HTTPConnectionManager()
	if hcm == nil || hcm.RouteConfigName != "web-routes" || hcm.RouteConfig != nil || hcm.StatPrefix != "ingress_http" {
		t.Fatalf("https connection manager = %+v", hcm)
	}
	if len(hcm.HTTPFilters) != 1 || hcm.HTTPFilters[0].Name != "envoy.filters.http.router" || hcm.HTTPFilters[0].TypedConfig == nil {
		t.Errorf("HTTP filters = %+v", hcm.HTTPFilters)
	}
	if https.Filter("envoy.filters.network.http_connection_manager") == nil || https.Filter("nope") != nil {
		t.Error("Filter lookup by name")
	}
	ctx := https.TLS
	if ctx == nil || https.TransportSocket != "envoy.transport_sockets.tls" {
		t.Fatalf("https TLS = %+v, socket %q", ctx, https.TransportSocket)
	}
	if !ctx.RequireClientCertificate || ctx.RequireSNI || ctx.MinVersion != tls.VersionTLS12 || ctx.MaxVersion != 0 ||
		!slices.Equal(ctx.ALPNProtocols, []string{"h2", "http/1.1"}) || ctx.ValidationContextSDS != "ROOTCA" {
		t.Errorf("https TLS context = %+v", ctx.CommonTLS)
	}
	if len(ctx.Certificates) != 1 || ctx.Certificates[0].Leaf == nil || !ctx.Certificates[0].HasPrivateKey {
		t.Errorf("certificates = %+v", ctx.Certificates)
	}
	if vc := ctx.ValidationContext; vc == nil || len(vc.SANMatchers) != 1 || vc.SANMatchers[0].Type != SANURI ||
		!vc.SANMatchers[0].Matcher.Match("spiffe://cluster.local/ns/a/sa/b") {
		t.Errorf("validation context = %+v", vc)
	}
	plain := l.FilterChains[1]
	if plain.Match.DestinationPort != 8080 || !slices.Equal(plain.Match.PrefixRanges, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}) {
		t.Errorf("plain match = %+v", plain.Match)
	}
	if plain.TLS != nil || plain.TransportSocket != "" {
		t.Errorf("plain chain has TLS %+v", plain.TLS)
	}
	inline := plain.HTTPConnectionManager()
	if inline == nil || inline.RouteConfig == nil || inline.RouteConfig.Name() != "web-routes" || len(inline.RouteConfig.VirtualHosts) != 1 {
		t.Fatalf("inline connection manager = %+v", inline)
	}
	if raw := inline.RouteConfig.Raw(); len(raw) == 0 {
		t.Error("inline route configuration has no raw bytes")
	}
	def := l.DefaultFilterChain
	if len(def.Filters) != 1 || def.Filters[0].HTTPConnectionManager != nil || def.Filters[0].TypedConfig == nil || def.HTTPConnectionManager() != nil {
		t.Errorf("default chain filters = %+v", def.Filters)
	}
	if got := l.RouteConfigNames(); !slices.Equal(got, []string{"web-routes"}) {
		t.Errorf("route config names = %q", got)
	}
	if l.Message().GetName() != "ingress" || l.Proto() != proto.Message(l.Message()) {
		t.Error("proto accessors")
	}
}

// TestListenerRouteConfigNamesDeduplicates checks that a name shared by several chains is
// subscribed to once.
func TestListenerRouteConfigNamesDeduplicates(t *testing.T) {
	m := validListener(t)
	second := proto.Clone(m.FilterChains[0]).(*listenerv3.FilterChain)
	second.FilterChainMatch.ServerNames = []string{"api.example.com"}
	third := proto.Clone(second).(*listenerv3.FilterChain)
	third.FilterChainMatch.ServerNames = []string{"admin.example.com"}
	third.Filters[0] = networkFilter(t, "hcm", rdsHCM(t, "admin-routes"))
	m.FilterChains = append(m.FilterChains, second, third)
	m.DefaultFilterChain.Filters = []*listenerv3.Filter{networkFilter(t, "hcm", rdsHCM(t, "web-routes"))}
	l, err := DecodeListener(mustAny(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.RouteConfigNames(); !slices.Equal(got, []string{"web-routes", "admin-routes"}) {
		t.Errorf("route config names = %q", got)
	}
}

// TestListenerFilterWithoutTypedConfig checks that a filter configured by extension config
// discovery is kept, with no config to decode.
func TestListenerFilterWithoutTypedConfig(t *testing.T) {
	m := validListener(t)
	m.DefaultFilterChain.Filters = []*listenerv3.Filter{{
		Name: "ecds",
		ConfigType: &listenerv3.Filter_ConfigDiscovery{ConfigDiscovery: &corev3.ExtensionConfigSource{
			ConfigSource: &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}},
			TypeUrls:     []string{"type.googleapis.com/" + string(fullName(&hcmv3.HttpConnectionManager{}))},
		}},
	}}
	l, err := DecodeListener(mustAny(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if f := l.DefaultFilterChain.Filters[0]; f.Name != "ecds" || f.TypedConfig != nil || f.HTTPConnectionManager != nil {
		t.Errorf("filter = %+v", f)
	}
}
