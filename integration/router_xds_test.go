package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/durationpb"
)

// namedBackend answers "<name> <host> <path>".
func namedBackend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", name, r.Host, r.URL.Path)
	}))
	t.Cleanup(s.Close)
	return s
}

// edsCluster is a cluster whose endpoints come over ADS.
func edsCluster(name string) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 name,
		ConnectTimeout:       durationpb.New(time.Second),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{EdsConfig: &corev3.ConfigSource{
			ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		}},
	}
}

// loadAssignment points a cluster at backends.
func loadAssignment(cluster string, backends ...*httptest.Server) *endpointv3.ClusterLoadAssignment {
	var eps []*endpointv3.LbEndpoint
	for _, b := range backends {
		host, port, _ := net.SplitHostPort(b.Listener.Addr().String())
		p, _ := strconv.Atoi(port)
		eps = append(eps, &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
			Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
				Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(p)},
			}}},
		}}})
	}
	return &endpointv3.ClusterLoadAssignment{ClusterName: cluster, Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: eps}}}
}

func toCluster(name string) *routev3.Route_Route {
	return &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: name}}}
}

func prefixMatch(p string) *routev3.RouteMatch {
	return &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: p}}
}

// routerResources is route configuration "web" over clusters a and b, with a's endpoints
// at aBackend: virtual host one.example has a prefix route with a prefix rewrite, a
// weighted split, a direct response and a redirect; two.example sends everything to b.
func routerResources(version string, aBackend, bBackend *httptest.Server) map[resourcev3.Type][]types.Resource {
	apiRoute := &routev3.Route{Name: "api", Match: prefixMatch("/api/"), Action: toCluster("a")}
	apiRoute.GetRoute().PrefixRewrite = "/" + version + "/"
	rc := &routev3.RouteConfiguration{
		Name: "web",
		VirtualHosts: []*routev3.VirtualHost{
			{Name: "one", Domains: []string{"one.example"}, Routes: []*routev3.Route{
				apiRoute,
				{Name: "split", Match: prefixMatch("/split"), Action: &routev3.Route_Route{Route: &routev3.RouteAction{
					ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{
						Clusters: []*routev3.WeightedCluster_ClusterWeight{
							{Name: "a", Weight: wrapUint32(1)},
							{Name: "b", Weight: wrapUint32(1)},
						},
					}},
				}}},
				{Name: "health", Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: "/health"}},
					Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
						Status: 200, Body: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "ok " + version}},
					}}},
				{Name: "old", Match: prefixMatch("/old/"), Action: &routev3.Route_Redirect{Redirect: &routev3.RedirectAction{
					HostRedirect:         "new.example",
					PathRewriteSpecifier: &routev3.RedirectAction_PrefixRewrite{PrefixRewrite: "/new/"},
					ResponseCode:         routev3.RedirectAction_PERMANENT_REDIRECT,
				}}},
			}},
			{Name: "two", Domains: []string{"two.example"}, Routes: []*routev3.Route{
				{Name: "all", Match: prefixMatch("/"), Action: toCluster("b")},
			}},
		},
	}
	return map[resourcev3.Type][]types.Resource{
		resourcev3.ClusterType:  {edsCluster("a"), edsCluster("b")},
		resourcev3.EndpointType: {loadAssignment("a", aBackend), loadAssignment("b", bBackend)},
		resourcev3.RouteType:    {rc},
	}
}

// routerApps is the xds source "cp" and an HTTP server on addr whose only handler is
// mesh_router serving route configuration "web" from source (default: merged).
func routerApps(xdsAddr, addr, source string) map[string]any {
	router := map[string]any{"handler": "mesh_router", "route_configuration": "web"}
	if source != "" {
		router["source"] = source
	}
	return map[string]any{
		"mesh": map[string]any{"sources": map[string]any{
			"cp": map[string]any{
				"source": "xds", "server": xdsAddr,
				"node":      map[string]any{"id": "node-1", "cluster": "shop"},
				"subscribe": []map[string]any{{"type": "cds"}, {"type": "rds", "names": []string{"web"}}},
			},
		}},
		"http": map[string]any{"servers": map[string]any{"mesh": map[string]any{
			"listen":          []string{addr},
			"automatic_https": map[string]any{"disable": true},
			"routes":          []map[string]any{{"handle": []any{router}}},
		}}},
	}
}

// noRedirects is a client that shows redirects instead of following them, with no
// keep-alive connection to outlive the test.
var noRedirects = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	Timeout:   5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// hit sends GET path with a Host to addr.
func hit(addr, host, path string) (*http.Response, string, error) {
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		return nil, "", err
	}
	req.Host = host
	resp, err := noRedirects.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// TestRouterXDS runs mesh_router with route_configuration in a real Caddy over the xds
// source and go-control-plane's server: each kind of route serves, a new snapshot changes
// a route within a second without a reload, and new endpoints move the traffic.
func TestRouterXDS(t *testing.T) {
	tests := []struct {
		name, source string
	}{
		{"merged source", ""},
		{"the xds source by name", "cp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			t.Cleanup(func() {
				goleak.VerifyNone(t, ignore,
					// reverse_proxy's process-wide janitor of dynamic upstream hosts.
					goleak.IgnoreAnyFunction("github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy.(*Upstream).fillDynamicHost.func1.1"),
					// The tls app's storage-cleaning lock: certmagic checks every 5 s whether
					// the lock file is still there, and only then returns.
					goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"))
			})
			a, b, c := namedBackend(t, "a"), namedBackend(t, "b"), namedBackend(t, "c")
			srv := startXDSServer(t)
			srv.setSnapshot(t, "node-1", "v1", routerResources("v1", a, b))
			in := newInstance(t)
			addr := freeAddr(t)
			defer in.stop() // also after a load that failed, which leaves an admin endpoint up
			in.load(routerApps(srv.addr, addr, tt.source))

			// The routes compile in the background once the resources arrive.
			eventually(t, 10*time.Second, func() string {
				resp, body, err := hit(addr, "one.example", "/health")
				if err != nil {
					return err.Error()
				}
				if resp.StatusCode != 200 || body != "ok v1" {
					return fmt.Sprintf("/health: %d %q", resp.StatusCode, body)
				}
				return ""
			})
			checkRoutes(t, addr, "v1", "a")

			// A new snapshot changes the prefix rewrite and the direct response.
			start := time.Now()
			srv.setSnapshot(t, "node-1", "v2", routerResources("v2", a, b))
			eventually(t, 5*time.Second, func() string {
				resp, body, err := hit(addr, "one.example", "/health")
				if err != nil {
					return err.Error()
				}
				if body != "ok v2" {
					return fmt.Sprintf("/health: %d %q", resp.StatusCode, body)
				}
				return ""
			})
			if took := time.Since(start); took > time.Second {
				t.Errorf("the new route took %s to serve", took)
			}
			checkRoutes(t, addr, "v2", "a")

			// New endpoints for cluster a move its traffic to c.
			srv.setSnapshot(t, "node-1", "v3", routerResources("v2", c, b))
			eventually(t, 5*time.Second, func() string {
				_, body, err := hit(addr, "one.example", "/api/x")
				if err != nil {
					return err.Error()
				}
				if !strings.HasPrefix(body, "c ") {
					return "/api/x still served by " + body
				}
				return ""
			})
			checkRoutes(t, addr, "v2", "c")
		})
	}
}

// checkRoutes checks every route of routerResources(version, <backend of a>, b).
func checkRoutes(t *testing.T, addr, version, aName string) {
	t.Helper()
	tests := []struct {
		name, host, path string
		code             int
		body             string
	}{
		{"prefix rewrite", "one.example", "/api/items", 200, aName + " one.example /" + version + "/items"},
		{"direct response", "one.example", "/health", 200, "ok " + version},
		{"another virtual host", "two.example", "/anything", 200, "b two.example /anything"},
		{"host with a port", "two.example:8080", "/p", 200, "b two.example:8080 /p"},
		{"no virtual host", "three.example", "/api/items", 404, ""},
		{"no route", "one.example", "/nothing", 404, ""},
	}
	for _, tt := range tests {
		resp, body, err := hit(addr, tt.host, tt.path)
		switch {
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case resp.StatusCode != tt.code || (tt.code == 200 && body != tt.body):
			t.Errorf("%s: %s%s: %d %q, want %d %q", tt.name, tt.host, tt.path, resp.StatusCode, body, tt.code, tt.body)
		}
	}

	resp, _, err := hit(addr, "one.example", "/old/x?q=1")
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusPermanentRedirect || loc == nil || loc.Hostname() != "new.example" || loc.Path != "/new/x" || loc.RawQuery != "q=1" {
		t.Errorf("redirect: %d %q, want 308 to new.example/new/x?q=1", resp.StatusCode, resp.Header.Get("Location"))
	}

	counts := map[string]int{}
	const n = 200
	for range n {
		_, body, err := hit(addr, "one.example", "/split")
		if err != nil {
			t.Fatal(err)
		}
		counts[strings.Fields(body + " ?")[0]]++
	}
	// 1:1 over 200 requests: 100 each, with a standard deviation of about 7.
	if counts[aName] < 60 || counts["b"] < 60 || counts[aName]+counts["b"] != n {
		t.Errorf("a 1:1 split between %s and b gave %v", aName, counts)
	}
}
