package resource

import (
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestDecodeRouteConfiguration(t *testing.T) {
	tests := []struct {
		name string
		// routes replace the first virtual host's routes, when set.
		routes  []*routev3.Route
		mutate  func(rc *routev3.RouteConfiguration)
		reasons []string
		check   func(t *testing.T, rc *RouteConfiguration)
	}{
		{
			name: "valid",
			check: func(t *testing.T, rc *RouteConfiguration) {
				if rc.Name() != "web-routes" || len(rc.VirtualHosts) != 1 {
					t.Fatalf("name %q, %d virtual hosts", rc.Name(), len(rc.VirtualHosts))
				}
				vh := rc.VirtualHosts[0]
				if vh.Name != "web" || !slices.Equal(vh.Domains, []string{"web.example.com", "web.example.com:8080"}) || len(vh.Routes) != 2 {
					t.Fatalf("virtual host = %+v", vh)
				}
				api := vh.Routes[0]
				if api.Name != "api" || api.Match.Kind != PathPrefix || api.Match.Path != "/api/" || !api.Match.CaseSensitive {
					t.Errorf("api match = %+v", api.Match)
				}
				if api.Action != ActionCluster || api.Forward.Cluster != "api" || api.Forward.PrefixRewrite != "/" || api.Forward.Timeout != 3*time.Second {
					t.Errorf("api action %v %+v", api.Action, api.Forward)
				}
				if d := vh.Routes[1]; d.Forward.Timeout != 15*time.Second {
					t.Errorf("default timeout = %v", d.Forward.Timeout)
				}
				if vh.Message() == nil || api.Message() == nil || rc.Message().GetName() != "web-routes" {
					t.Error("proto accessors")
				}
			},
		},
		{
			name: "every path match kind",
			routes: []*routev3.Route{
				clusterRoute(&routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: "/exact"}, CaseSensitive: wrapperspb.Bool(false)}),
				clusterRoute(&routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: "/v[0-9]+/.*"}}}),
				clusterRoute(&routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_PathSeparatedPrefix{PathSeparatedPrefix: "/docs"}}),
				clusterRoute(&routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_ConnectMatcher_{ConnectMatcher: &routev3.RouteMatch_ConnectMatcher{}}}),
				clusterRoute(&routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}, Grpc: &routev3.RouteMatch_GrpcRouteMatchOptions{}}),
			},
			check: func(t *testing.T, rc *RouteConfiguration) {
				r := rc.VirtualHosts[0].Routes
				if m := r[0].Match; m.Kind != PathExact || m.Path != "/exact" || m.CaseSensitive {
					t.Errorf("path match = %+v", m)
				}
				if m := r[1].Match; m.Kind != PathSafeRegex || m.Regex == nil || !m.Regex.MatchString("/v2/x") || m.Regex.MatchString("/api/v2/x") {
					t.Errorf("regex match = %+v (must match the whole path)", m)
				}
				if m := r[2].Match; m.Kind != PathSeparatedPrefix || m.Path != "/docs" {
					t.Errorf("path-separated prefix match = %+v", m)
				}
				if m := r[3].Match; m.Kind != PathConnect {
					t.Errorf("connect match = %+v", m)
				}
				if m := r[4].Match; !m.GRPC {
					t.Errorf("gRPC match = %+v", m)
				}
			},
		},
		{
			name: "header and query parameter matchers",
			routes: []*routev3.Route{clusterRoute(&routev3.RouteMatch{
				PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
				Headers: []*routev3.HeaderMatcher{
					{Name: "x-exact", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
						MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "A"}, IgnoreCase: true}}},
					{Name: "x-prefix", HeaderMatchSpecifier: &routev3.HeaderMatcher_PrefixMatch{PrefixMatch: "pre"}},
					{Name: "x-suffix", HeaderMatchSpecifier: &routev3.HeaderMatcher_SuffixMatch{SuffixMatch: "suf"}, InvertMatch: true},
					{Name: "x-contains", HeaderMatchSpecifier: &routev3.HeaderMatcher_ContainsMatch{ContainsMatch: "mid"}},
					{Name: "x-regex", HeaderMatchSpecifier: &routev3.HeaderMatcher_SafeRegexMatch{SafeRegexMatch: &matcherv3.RegexMatcher{Regex: "[a-z]+"}}},
					{Name: "x-present", HeaderMatchSpecifier: &routev3.HeaderMatcher_PresentMatch{PresentMatch: false}},
					{Name: "x-range", HeaderMatchSpecifier: &routev3.HeaderMatcher_RangeMatch{RangeMatch: &typev3.Int64Range{Start: 10, End: 20}}},
					{Name: "x-bare", TreatMissingHeaderAsEmpty: true},
				},
				QueryParameters: []*routev3.QueryParameterMatcher{
					{Name: "debug"},
					{Name: "v", QueryParameterMatchSpecifier: &routev3.QueryParameterMatcher_StringMatch{StringMatch: regexMatcher("[0-9]")}},
					{Name: "absent", QueryParameterMatchSpecifier: &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}},
				},
			})},
			check: func(t *testing.T, rc *RouteConfiguration) {
				m := rc.VirtualHosts[0].Routes[0].Match
				want := []HeaderMatcher{
					{Name: "x-exact", Kind: MatchExact, Value: "A", IgnoreCase: true},
					{Name: "x-prefix", Kind: MatchPrefix, Value: "pre"},
					{Name: "x-suffix", Kind: MatchSuffix, Value: "suf", Invert: true},
					{Name: "x-contains", Kind: MatchContains, Value: "mid"},
					{Name: "x-regex", Kind: MatchRegex, Value: "[a-z]+"},
					{Name: "x-present", Kind: MatchPresent, Present: false},
					{Name: "x-range", Kind: MatchRange, RangeStart: 10, RangeEnd: 20},
					{Name: "x-bare", Kind: MatchPresent, Present: true, TreatMissingAsEmpty: true},
				}
				if len(m.Headers) != len(want) {
					t.Fatalf("%d header matchers", len(m.Headers))
				}
				for i, h := range m.Headers {
					re := h.Regex
					h.Regex = nil
					if h != want[i] {
						t.Errorf("header %d:\n got %+v\nwant %+v", i, h, want[i])
					}
					if (re != nil) != (h.Kind == MatchRegex) || (re != nil && (!re.MatchString("abc") || re.MatchString("abc1"))) {
						t.Errorf("header %d regex %v", i, re)
					}
				}
				q := m.QueryParameters
				if len(q) != 3 || q[0].Kind != MatchPresent || !q[0].Present || q[1].Kind != MatchRegex || q[1].Regex == nil ||
					!q[1].Regex.MatchString("7") || q[2].Kind != MatchPresent || !q[2].Present {
					t.Errorf("query parameter matchers = %+v", q)
				}
			},
		},
		{
			name: "weighted clusters",
			routes: []*routev3.Route{weightedRoute(
				&routev3.WeightedCluster_ClusterWeight{Name: "v1", Weight: wrapperspb.UInt32(90)},
				&routev3.WeightedCluster_ClusterWeight{Name: "v2", Weight: wrapperspb.UInt32(10)},
				&routev3.WeightedCluster_ClusterWeight{ClusterHeader: "x-cluster", Weight: wrapperspb.UInt32(5)},
			)},
			check: func(t *testing.T, rc *RouteConfiguration) {
				r := rc.VirtualHosts[0].Routes[0]
				want := []ClusterWeight{{Name: "v1", Weight: 90}, {Name: "v2", Weight: 10}, {ClusterHeader: "x-cluster", Weight: 5}}
				if r.Action != ActionWeightedClusters || !slices.Equal(r.Forward.WeightedClusters, want) || r.Forward.TotalWeight != 105 {
					t.Errorf("action %v, %+v", r.Action, r.Forward)
				}
			},
		},
		{
			name: "weighted clusters adding up to 0",
			routes: []*routev3.Route{weightedRoute(
				&routev3.WeightedCluster_ClusterWeight{Name: "v1", Weight: wrapperspb.UInt32(0)},
				&routev3.WeightedCluster_ClusterWeight{Name: "v2"},
			)},
			reasons: []string{"virtual_hosts[0].routes[0].route.weighted_clusters: total weight is 0"},
		},
		{
			name: "weighted clusters overflowing",
			routes: []*routev3.Route{weightedRoute(
				&routev3.WeightedCluster_ClusterWeight{Name: "v1", Weight: wrapperspb.UInt32(math.MaxUint32)},
				&routev3.WeightedCluster_ClusterWeight{Name: "v2", Weight: wrapperspb.UInt32(1)},
			)},
			reasons: []string{"virtual_hosts[0].routes[0].route.weighted_clusters: total weight 4294967296 overflows 4294967295"},
		},
		{
			name: "weighted cluster naming no cluster",
			routes: []*routev3.Route{weightedRoute(
				&routev3.WeightedCluster_ClusterWeight{Name: "v1", Weight: wrapperspb.UInt32(1)},
				&routev3.WeightedCluster_ClusterWeight{Weight: wrapperspb.UInt32(1)},
			)},
			reasons: []string{"virtual_hosts[0].routes[0].route.weighted_clusters.clusters[1]: exactly one of name and cluster_header must be set"},
		},
		{
			name: "regexes that do not compile",
			routes: []*routev3.Route{
				clusterRoute(&routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: "/a(b"}}}),
				clusterRoute(&routev3.RouteMatch{
					PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
					Headers: []*routev3.HeaderMatcher{
						{Name: "x-old", HeaderMatchSpecifier: &routev3.HeaderMatcher_SafeRegexMatch{SafeRegexMatch: &matcherv3.RegexMatcher{Regex: "a{2,1}"}}},
						{Name: "x-new", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: regexMatcher(`\8`)}},
					},
					QueryParameters: []*routev3.QueryParameterMatcher{
						{Name: "q", QueryParameterMatchSpecifier: &routev3.QueryParameterMatcher_StringMatch{StringMatch: regexMatcher("(?P<x")}},
					},
				}),
				{
					Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/r"}},
					Action: &routev3.Route_Route{Route: &routev3.RouteAction{
						ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "c"},
						RegexRewrite:     &matcherv3.RegexMatchAndSubstitute{Pattern: &matcherv3.RegexMatcher{Regex: "*"}, Substitution: "/"},
					}},
				},
			},
			reasons: []string{
				"virtual_hosts[0].routes[0].match.safe_regex: regular expression does not compile",
				"virtual_hosts[0].routes[1].match.headers[0].safe_regex_match: regular expression does not compile",
				"virtual_hosts[0].routes[1].match.headers[1].string_match.safe_regex: regular expression does not compile",
				"virtual_hosts[0].routes[1].match.query_parameters[0].string_match.safe_regex: regular expression does not compile",
				"virtual_hosts[0].routes[2].route.regex_rewrite.pattern: regular expression does not compile",
			},
		},
		{
			name: "redirect",
			routes: []*routev3.Route{{
				Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/old"}},
				Action: &routev3.Route_Redirect{Redirect: &routev3.RedirectAction{
					SchemeRewriteSpecifier: &routev3.RedirectAction_HttpsRedirect{HttpsRedirect: true},
					HostRedirect:           "new.example.com",
					PortRedirect:           8443,
					PathRewriteSpecifier:   &routev3.RedirectAction_PrefixRewrite{PrefixRewrite: "/new"},
					ResponseCode:           routev3.RedirectAction_PERMANENT_REDIRECT,
					StripQuery:             true,
				}},
			}},
			check: func(t *testing.T, rc *RouteConfiguration) {
				r := rc.VirtualHosts[0].Routes[0]
				want := RedirectAction{Scheme: "https", Host: "new.example.com", Port: 8443, PrefixRewrite: "/new", StripQuery: true, ResponseCode: http.StatusPermanentRedirect}
				if r.Action != ActionRedirect || r.Redirect == nil || *r.Redirect != want {
					t.Errorf("action %v redirect %+v", r.Action, r.Redirect)
				}
			},
		},
		{
			name: "redirect with an undefined response code",
			routes: []*routev3.Route{{
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Redirect{Redirect: &routev3.RedirectAction{ResponseCode: 9}},
			}},
			// Generated validation catches it first; see TestRedirectResponseCodes for the
			// semantic check alone.
			reasons: []string{"virtual_hosts[0].routes[0].redirect.response_code: value must be one of the defined enum values"},
		},
		{
			name: "direct responses",
			routes: []*routev3.Route{
				directRoute("/s", 200, inlineString("ok")),
				directRoute("/b", 503, inlineBytes([]byte{0, 1})),
				directRoute("/e", 204, nil),
			},
			check: func(t *testing.T, rc *RouteConfiguration) {
				r := rc.VirtualHosts[0].Routes
				if d := r[0].DirectResponse; r[0].Action != ActionDirectResponse || d.Status != 200 || string(d.Body.Inline) != "ok" || d.Body.Kind != DataInline {
					t.Errorf("string body %+v", d)
				}
				if d := r[1].DirectResponse; d.Status != 503 || !slices.Equal(d.Body.Inline, []byte{0, 1}) {
					t.Errorf("bytes body %+v", d)
				}
				if d := r[2].DirectResponse; d.Status != 204 || d.Body.Kind != DataNone {
					t.Errorf("empty body %+v", d)
				}
			},
		},
		{
			name: "other actions",
			routes: []*routev3.Route{
				{Match: prefix("/h"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
					ClusterSpecifier:     &routev3.RouteAction_ClusterHeader{ClusterHeader: "x-target"},
					Timeout:              durationpb.New(0),
					HostRewriteSpecifier: &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: "internal"},
				}}},
				{Match: prefix("/n"), Action: &routev3.Route_NonForwardingAction{NonForwardingAction: &routev3.NonForwardingAction{}}},
			},
			check: func(t *testing.T, rc *RouteConfiguration) {
				r := rc.VirtualHosts[0].Routes
				if r[0].Action != ActionClusterHeader || r[0].Forward.ClusterHeader != "x-target" || r[0].Forward.Timeout != 0 || r[0].Forward.HostRewrite != "internal" {
					t.Errorf("cluster header route %v %+v", r[0].Action, r[0].Forward)
				}
				if r[1].Action != ActionNonForwarding || r[1].Forward != nil {
					t.Errorf("non-forwarding route %v", r[1].Action)
				}
			},
		},
		{
			name: "duplicate domains across virtual hosts",
			mutate: func(rc *routev3.RouteConfiguration) {
				rc.VirtualHosts = append(rc.VirtualHosts, &routev3.VirtualHost{
					Name: "other", Domains: []string{"api.example.com", "WEB.example.com"},
					Routes: []*routev3.Route{clusterRoute(prefix("/"))},
				}, &routev3.VirtualHost{
					Name: "third", Domains: []string{"api.example.com"},
					Routes: []*routev3.Route{clusterRoute(prefix("/"))},
				})
			},
			reasons: []string{
				`virtual_hosts[1].domains[1]: domain "WEB.example.com" is already served by virtual host "web"`,
				`virtual_hosts[2].domains[0]: domain "api.example.com" is already served by virtual host "other"`,
			},
		},
		{
			name: "duplicate domain in one virtual host",
			mutate: func(rc *routev3.RouteConfiguration) {
				rc.VirtualHosts[0].Domains = append(rc.VirtualHosts[0].Domains, "web.example.com")
			},
			reasons: []string{`virtual_hosts[0].domains[2]: domain "web.example.com" is already served by virtual host "web"`},
		},
		{
			name:    "route failing generated validation",
			routes:  []*routev3.Route{{Match: prefix("/")}},
			reasons: []string{"virtual_hosts[0].routes[0].action: value is required"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validRouteConfiguration(t)
			if tt.routes != nil {
				m.VirtualHosts[0].Routes = tt.routes
			}
			if tt.mutate != nil {
				tt.mutate(m)
			}
			rc, err := DecodeRouteConfiguration(mustAny(t, m))
			checkReasons(t, err, tt.reasons)
			if err == nil && tt.check != nil {
				tt.check(t, rc)
			}
		})
	}
}

// TestRedirectResponseCodes checks the semantic check of redirect codes on its own, since
// generated validation rejects undefined codes before it on a whole resource.
func TestRedirectResponseCodes(t *testing.T) {
	for code, want := range map[routev3.RedirectAction_RedirectResponseCode]int{
		routev3.RedirectAction_MOVED_PERMANENTLY:  301,
		routev3.RedirectAction_FOUND:              302,
		routev3.RedirectAction_SEE_OTHER:          303,
		routev3.RedirectAction_TEMPORARY_REDIRECT: 307,
		routev3.RedirectAction_PERMANENT_REDIRECT: 308,
		42: 0,
	} {
		var ps problems
		at := rootPath("redirect")
		got := buildRedirect(&ps, &at, &routev3.RedirectAction{ResponseCode: code})
		if got.ResponseCode != want {
			t.Errorf("code %v: got %d, want %d", code, got.ResponseCode, want)
		}
		if ok := want != 0; ps.ok() != ok {
			t.Errorf("code %v: problems %q", code, ps.list())
		}
	}
}

func prefix(p string) *routev3.RouteMatch {
	return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: p}}
}

func clusterRoute(m *routev3.RouteMatch) *routev3.Route {
	return &routev3.Route{Match: m, Action: &routev3.Route_Route{Route: &routev3.RouteAction{
		ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "web"},
	}}}
}

func weightedRoute(cs ...*routev3.WeightedCluster_ClusterWeight) *routev3.Route {
	return &routev3.Route{Match: prefix("/"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
		ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{Clusters: cs}},
	}}}
}

func directRoute(p string, status uint32, body *corev3.DataSource) *routev3.Route {
	return &routev3.Route{Match: prefix(p), Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
		Status: status, Body: body,
	}}}
}
