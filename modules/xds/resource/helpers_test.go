package resource

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// mustAny packs m, failing the test if it cannot.
func mustAny(t testing.TB, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatalf("packing %T: %v", m, err)
	}
	return a
}

// mustMarshal serializes m, failing the test if it cannot.
func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatalf("marshalling %T: %v", m, err)
	}
	return b
}

// checkReasons checks that err is a *ValidationError whose reasons are, in order, prefixed
// by want; want nil means err must be nil.
func checkReasons(t *testing.T, err error, want []string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v (%T), want *ValidationError", err, err)
	}
	if len(ve.Reasons) != len(want) {
		t.Fatalf("got %d reasons, want %d:\n  %s", len(ve.Reasons), len(want), strings.Join(ve.Reasons, "\n  "))
	}
	for i, r := range ve.Reasons {
		if !strings.HasPrefix(r, want[i]) {
			t.Errorf("reason %d:\n got %q\nwant %q...", i, r, want[i])
		}
	}
}

// testPKI is a CA and a leaf it signed, generated once per test binary so that no key
// material is checked in.
type testPKI struct {
	caPEM, leafPEM, keyPEM, otherKeyPEM []byte
	notAfter                            time.Time
}

var (
	pkiOnce sync.Once
	pki     testPKI
)

func getPKI(t testing.TB) testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		newKey := func() *ecdsa.PrivateKey {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				panic(err)
			}
			return k
		}
		encodeKey := func(k *ecdsa.PrivateKey) []byte {
			der, err := x509.MarshalECPrivateKey(k)
			if err != nil {
				panic(err)
			}
			return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
		}
		now := time.Now().Truncate(time.Second)
		caKey, leafKey := newKey(), newKey()
		caTmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
		if err != nil {
			panic(err)
		}
		ca, _ := x509.ParseCertificate(caDER)
		spiffe, _ := url.Parse("spiffe://cluster.local/ns/default/sa/web")
		leafTmpl := &x509.Certificate{
			SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "web"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(12 * time.Hour),
			DNSNames: []string{"web.default.svc"}, URIs: []*url.URL{spiffe},
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
		if err != nil {
			panic(err)
		}
		pki = testPKI{
			caPEM:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
			leafPEM:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
			keyPEM:      encodeKey(leafKey),
			otherKeyPEM: encodeKey(newKey()),
			notAfter:    leafTmpl.NotAfter,
		}
	})
	return pki
}

func socketAddr(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

func inlineBytes(b []byte) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b}}
}

func inlineString(s string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: s}}
}

func sdsConfig(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
	}}
}

func prefixMatcher(p string) *matcherv3.StringMatcher {
	return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: p}}
}

func regexMatcher(re string) *matcherv3.StringMatcher {
	return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: re}}}
}

// routerFilter is the terminal HTTP filter every connection manager ends with.
func routerFilter(t testing.TB) *hcmv3.HttpFilter {
	return &hcmv3.HttpFilter{Name: "envoy.filters.http.router",
		ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(t, &routerv3.Router{})}}
}

func rdsHCM(t testing.TB, routeName string) *hcmv3.HttpConnectionManager {
	return &hcmv3.HttpConnectionManager{
		StatPrefix: "ingress_http",
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			RouteConfigName: routeName,
			ConfigSource:    &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}},
		}},
		HttpFilters: []*hcmv3.HttpFilter{routerFilter(t)},
	}
}

func inlineHCM(t testing.TB, rc *routev3.RouteConfiguration) *hcmv3.HttpConnectionManager {
	return &hcmv3.HttpConnectionManager{
		StatPrefix:     "inline_http",
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: rc},
		HttpFilters:    []*hcmv3.HttpFilter{routerFilter(t)},
	}
}

func networkFilter(t testing.TB, name string, m proto.Message) *listenerv3.Filter {
	return &listenerv3.Filter{Name: name, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(t, m)}}
}

func tlsSocket(t testing.TB, m proto.Message) *corev3.TransportSocket {
	return &corev3.TransportSocket{Name: "envoy.transport_sockets.tls",
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(t, m)}}
}

// validListener is an HTTPS listener with an RDS chain terminating mTLS, a plaintext chain
// with inline routes and a TCP proxy default chain.
func validListener(t testing.TB) *listenerv3.Listener {
	p := getPKI(t)
	downstream := &tlsv3.DownstreamTlsContext{
		RequireClientCertificate: wrapperspb.Bool(true),
		CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsCertificates: []*tlsv3.TlsCertificate{{
				CertificateChain: inlineBytes(p.leafPEM),
				PrivateKey:       inlineBytes(p.keyPEM),
			}},
			AlpnProtocols: []string{"h2", "http/1.1"},
			TlsParams:     &tlsv3.TlsParameters{TlsMinimumProtocolVersion: tlsv3.TlsParameters_TLSv1_2},
			ValidationContextType: &tlsv3.CommonTlsContext_CombinedValidationContext{
				CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
					DefaultValidationContext: &tlsv3.CertificateValidationContext{
						MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{{
							SanType: tlsv3.SubjectAltNameMatcher_URI, Matcher: prefixMatcher("spiffe://cluster.local/"),
						}},
					},
					ValidationContextSdsSecretConfig: sdsConfig("ROOTCA"),
				},
			},
		},
	}
	return &listenerv3.Listener{
		Name:    "ingress",
		Address: socketAddr("0.0.0.0", 8443),
		FilterChains: []*listenerv3.FilterChain{
			{
				Name: "https",
				FilterChainMatch: &listenerv3.FilterChainMatch{
					ServerNames:          []string{"web.example.com", "*.example.org"},
					TransportProtocol:    "tls",
					ApplicationProtocols: []string{"h2"},
				},
				Filters:         []*listenerv3.Filter{networkFilter(t, "envoy.filters.network.http_connection_manager", rdsHCM(t, "web-routes"))},
				TransportSocket: tlsSocket(t, downstream),
			},
			{
				Name: "plain",
				FilterChainMatch: &listenerv3.FilterChainMatch{
					DestinationPort: wrapperspb.UInt32(8080),
					PrefixRanges:    []*corev3.CidrRange{{AddressPrefix: "10.1.2.3", PrefixLen: wrapperspb.UInt32(8)}},
				},
				Filters: []*listenerv3.Filter{networkFilter(t, "hcm", inlineHCM(t, validRouteConfiguration(t)))},
			},
		},
		DefaultFilterChain: &listenerv3.FilterChain{
			Filters: []*listenerv3.Filter{networkFilter(t, "envoy.filters.network.tcp_proxy", &tcpproxyv3.TcpProxy{
				StatPrefix: "tcp", ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: "passthrough"},
			})},
		},
	}
}

// validCluster is an EDS cluster with mTLS, HTTP/2 and circuit breakers.
func validCluster(t testing.TB) *clusterv3.Cluster {
	upstream := &tlsv3.UpstreamTlsContext{
		Sni: "backend.default.svc",
		CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{sdsConfig("default")},
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig{
				ValidationContextSdsSecretConfig: sdsConfig("ROOTCA"),
			},
			AlpnProtocols: []string{"h2"},
		},
	}
	h2 := &httpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{
				MaxConcurrentStreams: wrapperspb.UInt32(100),
			}},
		}},
	}
	return &clusterv3.Cluster{
		Name:                 "outbound|8080||backend.default.svc",
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{
			ServiceName: "backend.default.svc",
			EdsConfig:   &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}},
		},
		LbPolicy:        clusterv3.Cluster_LEAST_REQUEST,
		ConnectTimeout:  durationpb.New(2 * time.Second),
		TransportSocket: tlsSocket(t, upstream),
		TypedExtensionProtocolOptions: map[string]*anypb.Any{
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": mustAny(t, h2),
		},
		CircuitBreakers: &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{
			{MaxConnections: wrapperspb.UInt32(100), MaxRetries: wrapperspb.UInt32(5)},
			{Priority: corev3.RoutingPriority_HIGH, MaxRequests: wrapperspb.UInt32(2000)},
		}},
	}
}

// validRouteConfiguration has one virtual host with a route per action kind.
func validRouteConfiguration(t testing.TB) *routev3.RouteConfiguration {
	return &routev3.RouteConfiguration{
		Name: "web-routes",
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    "web",
			Domains: []string{"web.example.com", "web.example.com:8080"},
			Routes: []*routev3.Route{
				{
					Name:  "api",
					Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/api/"}},
					Action: &routev3.Route_Route{Route: &routev3.RouteAction{
						ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "api"},
						PrefixRewrite:    "/",
						Timeout:          durationpb.New(3 * time.Second),
					}},
				},
				{
					Name:  "default",
					Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
					Action: &routev3.Route_Route{Route: &routev3.RouteAction{
						ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "web"},
					}},
				},
			},
		}},
	}
}

func staticEndpoint(host string, port uint32) *endpointv3.LbEndpoint {
	return &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: socketAddr(host, port)}}}
}

// validClusterLoadAssignment has two localities at two priorities.
func validClusterLoadAssignment() *endpointv3.ClusterLoadAssignment {
	healthy := staticEndpoint("10.0.0.1", 8080)
	healthy.HealthStatus = corev3.HealthStatus_HEALTHY
	healthy.LoadBalancingWeight = wrapperspb.UInt32(3)
	draining := staticEndpoint("10.0.0.2", 8080)
	draining.HealthStatus = corev3.HealthStatus_DRAINING
	return &endpointv3.ClusterLoadAssignment{
		ClusterName: "backend.default.svc",
		Endpoints: []*endpointv3.LocalityLbEndpoints{
			{
				Locality:            &corev3.Locality{Region: "eu-west", Zone: "eu-west-1a", SubZone: "rack1"},
				LbEndpoints:         []*endpointv3.LbEndpoint{healthy, draining},
				LoadBalancingWeight: wrapperspb.UInt32(10),
			},
			{
				Locality:    &corev3.Locality{Region: "eu-west", Zone: "eu-west-1b"},
				LbEndpoints: []*endpointv3.LbEndpoint{staticEndpoint("2001:db8::1", 9090)},
				Priority:    1,
			},
		},
	}
}

// validSecret is a TLS certificate secret with inline material.
func validSecret(t testing.TB) *tlsv3.Secret {
	p := getPKI(t)
	return &tlsv3.Secret{Name: "default", Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
		CertificateChain: inlineBytes(p.leafPEM),
		PrivateKey:       inlineString(string(p.keyPEM)),
	}}}
}
