package envoyroute

import (
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

// TestNilElements checks that nil entries, which only Go callers can build (decoded protos
// never hold them), are errors and not panics.
func TestNilElements(t *testing.T) {
	ok := &routev3.Route{
		Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "c"}}},
	}
	inputs := []Input{
		{RouteConfiguration: &routev3.RouteConfiguration{VirtualHosts: []*routev3.VirtualHost{nil}}},
		{RouteConfiguration: &routev3.RouteConfiguration{VirtualHosts: []*routev3.VirtualHost{{Name: "v", Domains: []string{"*"}, Routes: []*routev3.Route{nil, ok}}}}},
		{
			RouteConfiguration: &routev3.RouteConfiguration{VirtualHosts: []*routev3.VirtualHost{{Name: "v", Domains: []string{"*"}, Routes: []*routev3.Route{ok}}}},
			Clusters:           map[string]*clusterv3.Cluster{"c": nil},
		},
	}
	// A nil virtual host or route is an empty message, which validation refuses; a nil
	// cluster is a missing one.
	wantErrs := []int{1, 1, 0}
	for i, in := range inputs {
		tbl, errs := Translate(in)
		if len(errs) != wantErrs[i] || tbl == nil {
			t.Errorf("input %d: table %v, errors %v; want %d errors", i, tbl, errs, wantErrs[i])
			continue
		}
		checkTable(t, tbl)
	}
}
