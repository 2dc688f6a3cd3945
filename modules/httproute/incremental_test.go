package httproute

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// incForward is a route forwarding path prefix p to cluster.
func incForward(name, p, cluster string) *table.Route {
	return &table.Route{Name: name, Match: table.Match{Path: segment(p)},
		Forward: &table.Forward{Backends: []*table.Backend{{Cluster: cluster, Weight: 1}}}}
}

// incProxyRefs is the proxies' reference counts by cluster.
func incProxyRefs(c *compiler) map[string]int {
	c.proxies.mu.Lock()
	defer c.proxies.mu.Unlock()
	out := map[string]int{}
	for k, e := range c.proxies.entries {
		for _, cl := range []string{"a", "b"} {
			if strings.HasPrefix(k, `{"Cluster":"`+cl+`"`) {
				out[cl] += e.refs
			}
		}
	}
	return out
}

// TestCompileReuses checks what a recompile takes over from the table served: the same
// virtual host and route objects compile to the same compiled ones, with the proxies they
// hold; an equal route of the same name too; a route whose cluster changed does not; and a
// dropped route gives its proxy back once the table that served it is swapped out.
func TestCompileReuses(t *testing.T) {
	c := testCompiler(t)
	clusters := map[string]*table.Cluster{
		"a": {Kind: table.ClusterStatic, Addresses: []string{"127.0.0.1:1"}},
		"b": {Kind: table.ClusterStatic, Addresses: []string{"127.0.0.1:2"}},
	}
	ra, rb := incForward("ra", "/a", "a"), incForward("rb", "/b", "b")
	keep := &table.VirtualHost{Name: "keep", Domains: []string{"keep.example.com"}, Routes: []*table.Route{ra}}
	change := &table.VirtualHost{Name: "change", Domains: []string{"change.example.com"}, Routes: []*table.Route{ra, rb}}
	t1 := &table.Table{Name: "t", Clusters: clusters, VirtualHosts: []*table.VirtualHost{change, keep}}

	var rt Router
	defer rt.swap(nil)
	c1, errs := c.compile(t1)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	rt.swap(c1)
	if got := incProxyRefs(c); got["a"] != 1 || got["b"] != 1 {
		t.Fatalf("after the first compile the proxies' references are %v, want one each", got)
	}
	unitA, unitB, hostKeep := c.units.routes[unitKey{route: ra}], c.units.routes[unitKey{route: rb}], c.units.hosts[keep]

	// The next table: keep is the same object; change is new, with ra, an equal copy of
	// rb, and a new route to a.
	rbCopy := incForward("rb", "/b", "b")
	rNew := incForward("new", "/new", "a")
	change2 := &table.VirtualHost{Name: "change", Domains: []string{"change.example.com"}, Routes: []*table.Route{rNew, ra, rbCopy}}
	t2 := &table.Table{Name: "t", Clusters: clusters, VirtualHosts: []*table.VirtualHost{change2, keep}}
	if tablesEqual(t1, t2) {
		t.Fatal("tablesEqual: tables with another route are equal")
	}
	c2, errs := c.compile(t2)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if c.units.hosts[keep] != hostKeep {
		t.Error("the unchanged virtual host was compiled again")
	}
	if c.units.routes[unitKey{route: ra}] != unitA || c.units.routes[unitKey{route: rbCopy}] != unitB {
		t.Error("an unchanged route (the same object, or an equal one of the same name) was compiled again")
	}
	if got := incProxyRefs(c); got["a"] != 2 || got["b"] != 1 {
		t.Errorf("with both tables compiled the proxies' references are %v, want a:2 b:1", got)
	}
	rt.swap(c2)
	if got := incProxyRefs(c); got["a"] != 2 || got["b"] != 1 {
		t.Errorf("after the swap the proxies' references are %v, want a:2 b:1", got)
	}

	// Cluster b's definition changes: the route to it is compiled again, with a new proxy.
	clusters3 := map[string]*table.Cluster{"a": clusters["a"], "b": {Kind: table.ClusterStatic, Addresses: []string{"127.0.0.1:3"}}}
	t3 := &table.Table{Name: "t", Clusters: clusters3, VirtualHosts: []*table.VirtualHost{change2, keep}}
	if tablesEqual(t2, t3) {
		t.Fatal("tablesEqual: tables with another cluster are equal")
	}
	c3, errs := c.compile(t3)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if c.units.routes[unitKey{route: rbCopy}] == unitB {
		t.Error("a route whose cluster changed was reused")
	}
	if c.units.hosts[keep] != hostKeep {
		t.Error("a virtual host whose clusters did not change was compiled again")
	}
	rt.swap(c3)

	// ra in a virtual host with header operations is compiled with them: another unit.
	ops := &table.HeaderOps{Remove: []string{"X-Drop"}}
	withOps := &table.VirtualHost{Name: "ops", Domains: []string{"ops.example.com"}, RequestHeaders: ops, Routes: []*table.Route{ra}}
	cOps, errs := c.compile(&table.Table{Name: "t", Clusters: clusters3, VirtualHosts: []*table.VirtualHost{change2, keep, withOps}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if u := c.units.routes[unitKey{route: ra, ops: hostOps{req: ops}}]; u == nil || u == unitA {
		t.Error("a route in a virtual host with header operations shares the unit of one without")
	}
	rt.swap(cOps)

	// Drop everything but keep: only ra's proxy reference is left.
	t4 := &table.Table{Name: "t", Clusters: clusters3, VirtualHosts: []*table.VirtualHost{keep}}
	c4, _ := c.compile(t4)
	rt.swap(c4)
	if got := incProxyRefs(c); got["a"] != 1 || got["b"] != 0 {
		t.Errorf("after dropping routes the proxies' references are %v, want a:1", got)
	}
	if len(c.units.routes) != 1 || len(c.units.hosts) != 1 {
		t.Errorf("%d routes and %d virtual hosts are still filed, want 1 and 1", len(c.units.routes), len(c.units.hosts))
	}
	rt.swap(nil)
	if got := incProxyRefs(c); got["a"] != 0 {
		t.Errorf("with nothing served the proxies' references are %v, want none", got)
	}
}

// TestTablesEqual checks the cheap comparison against the content: pointers first, the
// content of what differs.
func TestTablesEqual(t *testing.T) {
	base := func() *table.Table {
		return &table.Table{Name: "t",
			Clusters: map[string]*table.Cluster{"a": {Kind: table.ClusterStatic, Addresses: []string{"x:1"}}},
			VirtualHosts: []*table.VirtualHost{{Name: "v", Domains: []string{"v"}, Routes: []*table.Route{
				incForward("r", "/r", "a"), answer("s", table.Match{}),
			}}}}
	}
	a := base()
	tests := []struct {
		name string
		edit func(*table.Table)
		want bool
	}{
		{"same", func(*table.Table) {}, true},
		{"shared virtual host", func(t *table.Table) { t.VirtualHosts[0] = a.VirtualHosts[0] }, true},
		{"name", func(t *table.Table) { t.Name = "u" }, false},
		{"domain", func(t *table.Table) { t.VirtualHosts[0].Domains = []string{"w"} }, false},
		{"route", func(t *table.Table) { t.VirtualHosts[0].Routes[1].DirectResponse.Status = 404 }, false},
		{"route order", func(t *table.Table) {
			rs := t.VirtualHosts[0].Routes
			rs[0], rs[1] = rs[1], rs[0]
		}, false},
		{"headers", func(t *table.Table) { t.VirtualHosts[0].RequestHeaders = &table.HeaderOps{Remove: []string{"x"}} }, false},
		{"cluster", func(t *table.Table) { t.Clusters["a"].Addresses = []string{"x:2"} }, false},
		{"cluster name", func(t *table.Table) { t.Clusters["b"] = t.Clusters["a"]; delete(t.Clusters, "a") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := base()
			tt.edit(b)
			if got := tablesEqual(a, b); got != tt.want {
				t.Errorf("tablesEqual = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSwapServesThroughout recompiles a table over and over, one route changed each
// time, while clients request the routes that do not change: none of their requests may
// fail, and the changed route serves its new version once swapped in.
func TestSwapServesThroughout(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok "+r.URL.Path)
	}))
	defer backend.Close()
	clusters := map[string]*table.Cluster{"a": {Kind: table.ClusterStatic, Addresses: []string{strings.TrimPrefix(backend.URL, "http://")}}}
	const n = 50
	routes := make([]*table.Route, n)
	for i := range routes {
		routes[i] = incForward(fmt.Sprint("r", i), fmt.Sprintf("/r%d", i), "a")
	}
	tableOf := func(routes []*table.Route) *table.Table {
		vhs := make([]*table.VirtualHost, len(routes))
		for i, r := range routes {
			vhs[i] = &table.VirtualHost{Name: fmt.Sprint("h", i), Domains: []string{fmt.Sprintf("h%d.example.com", i)}, Routes: []*table.Route{r}}
		}
		return &table.Table{Name: "t", Clusters: clusters, VirtualHosts: vhs}
	}
	c := testCompiler(t)
	st := &portState{logger: zap.NewNop()}
	first, _ := c.compile(tableOf(routes))
	st.router.swap(first)
	defer st.router.swap(nil)
	srv := httptest.NewServer(st)
	defer srv.Close()

	get := func(client *http.Client, host, path string) (string, error) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return fmt.Sprint(resp.StatusCode, " ", string(b)), err
	}
	var stop atomic.Bool
	var failures, requests atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for k := 0; !stop.Load(); k++ {
				i := n/2 + (w*7+k)%(n/2) // the upper half never changes
				got, err := get(client, fmt.Sprintf("h%d.example.com", i), fmt.Sprintf("/r%d/x", i))
				requests.Add(1)
				if want := fmt.Sprintf("200 ok /r%d/x", i); err != nil || got != want {
					failures.Add(1)
				}
			}
		}()
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for v := range 40 {
		i := v % (n / 2)
		routes[i] = incForward(fmt.Sprint("r", i), fmt.Sprintf("/v%d/r%d", v, i), "a")
		compiled, errs := c.compile(tableOf(routes))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		st.router.swap(compiled)
		path := fmt.Sprintf("/v%d/r%d/y", v, i)
		if got, err := get(client, fmt.Sprintf("h%d.example.com", i), path); err != nil || got != "200 ok "+path {
			t.Errorf("change %d: %q %v, want the new path served", v, got, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if failures.Load() > 0 || requests.Load() == 0 {
		t.Errorf("%d of %d requests to unchanged routes failed during the swaps", failures.Load(), requests.Load())
	}
}
