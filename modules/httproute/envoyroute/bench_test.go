package envoyroute

import (
	"fmt"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// BenchmarkTranslate translates 10,000 routes across 1,000 virtual hosts, naming 100
// clusters: the size of a large mesh's RouteConfiguration. The routes cycle through every
// kind of match and action, so the figure includes regex compilation and header folding.
func BenchmarkTranslate(b *testing.B) {
	in := benchInput(1000, 10, 100)
	if _, errs := Translate(in); len(errs) > 0 {
		b.Fatalf("the benchmark input has errors: %v", errs[0])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Translate(in)
	}
}

// benchInput builds a valid configuration of vhosts virtual hosts with routes routes each,
// naming nclusters clusters (every tenth one a consistent-hash cluster).
func benchInput(vhosts, routes, nclusters int) Input {
	in := Input{
		RouteConfiguration: &routev3.RouteConfiguration{
			Name: "bench",
			ResponseHeadersToAdd: []*corev3.HeaderValueOption{
				{Header: &corev3.HeaderValue{Key: "x-mesh", Value: "caddymesh"}},
			},
		},
		Clusters: make(map[string]*clusterv3.Cluster, nclusters),
	}
	for c := 0; c < nclusters; c++ {
		name := fmt.Sprintf("cluster-%d", c)
		pb := &clusterv3.Cluster{
			Name:                 name,
			ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
			ConnectTimeout:       durationpb.New(1e9),
		}
		if c%10 == 0 {
			pb.LbPolicy = clusterv3.Cluster_RING_HASH
		}
		in.Clusters[name] = pb
	}
	cluster := func(i int) string { return fmt.Sprintf("cluster-%d", i%nclusters) }
	for v := 0; v < vhosts; v++ {
		vh := &routev3.VirtualHost{
			Name:    fmt.Sprintf("vhost-%d", v),
			Domains: []string{fmt.Sprintf("svc-%d.example.com", v), fmt.Sprintf("*.svc-%d.example.org", v)},
			RequestHeadersToAdd: []*corev3.HeaderValueOption{
				{Header: &corev3.HeaderValue{Key: "x-vhost", Value: fmt.Sprint(v)}},
			},
		}
		for r := 0; r < routes; r++ {
			vh.Routes = append(vh.Routes, benchRoute(r, cluster(v+r), cluster(v+r+1)))
		}
		in.RouteConfiguration.VirtualHosts = append(in.RouteConfiguration.VirtualHosts, vh)
	}
	return in
}

// benchRoute returns route r of a virtual host, one of ten shapes.
func benchRoute(r int, c1, c2 string) *routev3.Route {
	prefix := func(p string) *routev3.RouteMatch {
		return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: p}}
	}
	forward := func(a *routev3.RouteAction) *routev3.Route_Route {
		if a.ClusterSpecifier == nil {
			a.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: c1}
		}
		return &routev3.Route_Route{Route: a}
	}
	route := &routev3.Route{Name: fmt.Sprintf("route-%d", r), Match: prefix(fmt.Sprintf("/r%d/", r))}
	switch r % 10 {
	case 0:
		route.Match.Headers = []*routev3.HeaderMatcher{{
			Name:                 "x-version",
			HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "v2"}}},
		}}
		route.Action = forward(&routev3.RouteAction{HashPolicy: []*routev3.RouteAction_HashPolicy{{
			PolicySpecifier: &routev3.RouteAction_HashPolicy_Header_{Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: "x-user"}},
		}}})
	case 1:
		route.Match = &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: "/healthz"}}
		route.Action = forward(&routev3.RouteAction{})
	case 2:
		route.Match = &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: "/items/[0-9]+"}}}
		route.Action = forward(&routev3.RouteAction{})
	case 3:
		route.Match = &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_PathSeparatedPrefix{PathSeparatedPrefix: "/v1"}}
		route.Action = forward(&routev3.RouteAction{PrefixRewrite: "/v2"})
	case 4:
		route.Action = forward(&routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{
			Clusters: []*routev3.WeightedCluster_ClusterWeight{
				{Name: c1, Weight: wrapperspb.UInt32(90)},
				{Name: c2, Weight: wrapperspb.UInt32(10), RequestHeadersToAdd: []*corev3.HeaderValueOption{
					{Header: &corev3.HeaderValue{Key: "x-canary", Value: "1"}},
				}},
			},
		}}})
	case 5:
		route.Action = &routev3.Route_Redirect{Redirect: &routev3.RedirectAction{
			SchemeRewriteSpecifier: &routev3.RedirectAction_HttpsRedirect{HttpsRedirect: true},
		}}
	case 6:
		route.Action = &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
			Status: 503, Body: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "maintenance"}},
		}}
	case 7:
		route.Action = forward(&routev3.RouteAction{
			Timeout: durationpb.New(30e9),
			RetryPolicy: &routev3.RetryPolicy{
				RetryOn: "5xx,connect-failure", NumRetries: wrapperspb.UInt32(2), PerTryTimeout: durationpb.New(5e9),
			},
			RequestMirrorPolicies: []*routev3.RouteAction_RequestMirrorPolicy{{Cluster: c2}},
		})
	case 8:
		route.Match.QueryParameters = []*routev3.QueryParameterMatcher{{
			Name:                         "debug",
			QueryParameterMatchSpecifier: &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true},
		}}
		route.Match.RuntimeFraction = &corev3.RuntimeFractionalPercent{DefaultValue: &typev3.FractionalPercent{Numerator: 5}}
		route.Action = forward(&routev3.RouteAction{})
	default:
		route.Match = prefix("/")
		route.RequestHeadersToAdd = []*corev3.HeaderValueOption{
			{Header: &corev3.HeaderValue{Key: "x-route", Value: "catch-all"}, AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD},
		}
		route.Action = forward(&routev3.RouteAction{})
	}
	return route
}
