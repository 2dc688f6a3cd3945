package httproute

// Benchmarks of the router at scale (see BENCHMARKS.md, "HTTP router"):
//
//   - BenchmarkTranslateAndCompile: 10,000 HTTPRoutes across 1,000 host names, through
//     gatewayapi.Translate and the router's compile from nothing, with the heap that one
//     translated table, its compiled form and a translation cache keep.
//   - BenchmarkRouteChange: with 10,000 HTTPRoutes served by mesh_router in a running Caddy,
//     the time from writing one changed HTTPRoute into the collections until a request sees
//     the new routing; next to the same change pushed as a whole Caddy config of 10,000
//     static routes through the admin endpoint's POST /load. A background client requests
//     other routes throughout and counts failures.
//
//	go test -run '^$' -bench 'TranslateAndCompile' -benchmem -count 5 ./modules/httproute
//	go test -run '^$' -bench 'RouteChange' -benchtime 20x -count 5 ./modules/httproute

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/filestorage"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
	"github.com/caddymesh/caddymesh/modules/httproute/table"
	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// The scale of both benchmarks: the "10,000 HTTPRoutes across 1,000 hostnames".
const (
	benchRoutes   = 10_000
	benchHosts    = 1_000
	benchServices = 100
	benchNS       = "bench"
	benchGateway  = "bench/gw"
)

// benchObjects are the Gateway API objects of the benchmarks: GatewayClass caddymesh,
// Gateway bench/gw with one HTTP listener on port 80, Services svc-<j> (port 80, named
// http) with one EndpointSlice each to backend, and HTTPRoutes route-<i>, each with host
// name host-<i mod hosts>.example.com and one rule, PathPrefix /svc-<i>/ to
// svc-<i mod services>.
type benchObjects struct {
	classes  []*gatewayv1.GatewayClass
	gateways []*gatewayv1.Gateway
	routes   []*gatewayv1.HTTPRoute
	services []*corev1.Service
	slices   []*discoveryv1.EndpointSlice
}

func newBenchObjects(routes, hosts, services int, backend string) *benchObjects {
	o := &benchObjects{
		classes: []*gatewayv1.GatewayClass{{
			ObjectMeta: metav1.ObjectMeta{Name: "caddymesh"},
			Spec:       gatewayv1.GatewayClassSpec{ControllerName: gatewayapi.ControllerName},
		}},
		gateways: []*gatewayv1.Gateway{{
			ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: "gw"},
			Spec: gatewayv1.GatewaySpec{
				GatewayClassName: "caddymesh",
				Listeners:        []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}},
			},
		}},
	}
	host, port, _ := net.SplitHostPort(backend)
	backendPort, _ := strconv.Atoi(port)
	ready := true
	for j := range services {
		name := fmt.Sprintf("svc-%d", j)
		o.services = append(o.services, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: name},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		})
		o.slices = append(o.slices, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: benchNS, Name: name + "-0", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: benchPtr("http"), Port: benchPtr(int32(backendPort))}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		})
	}
	for i := range routes {
		o.routes = append(o.routes, benchRoute(i, hosts, services, benchPath(i, 0)))
	}
	return o
}

// benchPath is route i's path prefix in its version v: /svc-<i>/, then /moved-<v>-<i>/.
func benchPath(i, v int) string {
	if v == 0 {
		return fmt.Sprintf("/svc-%d/", i)
	}
	return fmt.Sprintf("/moved-%d-%d/", v, i)
}

func benchHost(i, hosts int) string { return fmt.Sprintf("host-%d.example.com", i%hosts) }

func benchRoute(i, hosts, services int, path string) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: fmt.Sprintf("route-%d", i), ResourceVersion: path},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(benchHost(i, hosts))},
			Rules: []gatewayv1.HTTPRouteRule{{
				Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: benchPtr(gatewayv1.PathMatchPathPrefix), Value: benchPtr(path)}}},
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
					Name: gatewayv1.ObjectName(fmt.Sprintf("svc-%d", i%services)), Port: benchPtr(gatewayv1.PortNumber(80))}}}},
			}},
		},
	}
}

func benchPtr[T any](v T) *T { return &v }

func (o *benchObjects) input() gatewayapi.Input {
	return gatewayapi.Input{
		ControllerName: gatewayapi.ControllerName,
		Now:            metav1.Now(),
		GatewayClasses: o.classes,
		Gateways:       o.gateways,
		HTTPRoutes:     o.routes,
		Services:       o.services,
	}
}

// benchTable translates in and returns the Gateway's port 80 table, as mesh_router picks it.
func benchTable(tb testing.TB, in gatewayapi.Input) *table.Table {
	t := gatewayTable(gatewayapi.Translate(in), benchGateway, 80)
	if t == nil {
		tb.Fatal("the translation has no table for bench/gw:80")
	}
	return t
}

// benchCompiler is router_test.go's testCompiler for a benchmark: a compiler outside a
// Caddy config, over the given EndpointSlices.
func benchCompiler(tb testing.TB, slices []*discoveryv1.EndpointSlice) *compiler {
	tb.Helper()
	cfg := new(caddy.Config)
	if err := json.Unmarshal([]byte(`{"admin": {"disabled": true}}`), cfg); err != nil {
		tb.Fatal(err)
	}
	base, err := caddy.ProvisionContext(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(base)
	static := collection.NewStatic[*discoveryv1.EndpointSlice]()
	static.Reset(slices)
	eps := NewEndpoints(static, nil)
	c := newCompiler(ctx, eps, zap.NewNop())
	tb.Cleanup(func() { c.close(); eps.Stop(); cancel() })
	return c
}

// benchHeapAlloc is the live heap after a full collection.
func benchHeapAlloc() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkTranslateAndCompile is what 10,000 HTTPRoutes across 1,000 host names (one rule
// each, to 100 Services) cost the router from nothing, as at start-up or with neither
// cache: every route translated and compiled.
//
//   - translate: gatewayapi.Translate of every object, without a Cache;
//   - compile: the router's compile of the resulting table with nothing compiled before
//     to take over (a fresh compiler's units; the clusters' proxies kept warm, as they
//     are across recompiles), released after;
//   - translate+compile: both, as one cold build.
//
// translate+compile also reports the heap that one served table keeps, measured once
// after GC: table-MiB for the translated table, compiled-MiB for its compiled form on top
// (indexes, matchers, handler chains, the compiler's units, and the 100 clusters'
// reverse proxies), cache-MiB for a gatewayapi.Cache after one translation (it holds
// that translation's table too: mesh_router keeps the cache and the compiled table, whose
// table is the cache's, about cache-MiB + compiled-MiB in all).
//
// What one change costs with the caches is BenchmarkIncremental (incremental_bench_test.go)
// and, end to end in a running Caddy, BenchmarkRouteChange.
func BenchmarkTranslateAndCompile(b *testing.B) {
	objs := newBenchObjects(benchRoutes, benchHosts, benchServices, "127.0.0.1:8080")
	in := objs.input()

	b.Run("translate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			gatewayapi.Translate(in)
		}
	})
	b.Run("compile", func(b *testing.B) {
		warm := benchWarmCompiler(b, objs.slices, benchTable(b, in))
		t := benchTable(b, in)
		b.ReportAllocs()
		for b.Loop() {
			compiled, errs := benchColdCompiler(warm).compile(t)
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			compiled.release()
		}
	})
	b.Run("translate+compile", func(b *testing.B) {
		tableMiB, compiledMiB, cacheMiB := benchRetainedHeap(b, objs)
		warm := benchWarmCompiler(b, objs.slices, benchTable(b, in))
		b.ReportAllocs()
		for b.Loop() {
			compiled, errs := benchColdCompiler(warm).compile(benchTable(b, in))
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			compiled.release()
		}
		// After the loop: the loop's start deletes the metrics reported before it.
		b.ReportMetric(tableMiB, "table-MiB")
		b.ReportMetric(compiledMiB, "compiled-MiB")
		b.ReportMetric(cacheMiB, "cache-MiB")
	})
}

// benchWarmCompiler is a compiler that holds, until the benchmark ends, the proxies of
// t's clusters.
func benchWarmCompiler(b *testing.B, slices []*discoveryv1.EndpointSlice, t *table.Table) *compiler {
	warm := benchCompiler(b, slices)
	held, errs := warm.compile(t)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	b.Cleanup(held.release)
	return warm
}

// benchColdCompiler is a compiler with nothing compiled to take over, sharing warm's
// proxies.
func benchColdCompiler(warm *compiler) *compiler {
	return &compiler{ctx: warm.ctx, logger: warm.logger, proxies: warm.proxies, mirrors: warm.mirrors, units: newUnits()}
}

// benchRetainedHeap measures the heap a translated table, its compiled form and a Cache
// keep, after GC, in MiB.
func benchRetainedHeap(b *testing.B, objs *benchObjects) (tableMiB, compiledMiB, cacheMiB float64) {
	c := benchCompiler(b, objs.slices)
	var rt Router
	defer rt.swap(nil)
	before := benchHeapAlloc()
	t := benchTable(b, objs.input())
	withTable := benchHeapAlloc()
	compiled, errs := c.compile(t)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	rt.swap(compiled)
	withCompiled := benchHeapAlloc()
	in := objs.input()
	in.Cache = gatewayapi.NewCache()
	gatewayapi.Translate(in)
	withCache := benchHeapAlloc()
	if n := benchCountRoutes(t); n != benchRoutes {
		b.Fatalf("the table has %d routes, want %d", n, benchRoutes)
	}
	runtime.KeepAlive(t)
	runtime.KeepAlive(in.Cache)
	mib := func(after, before uint64) float64 { return (float64(after) - float64(before)) / (1 << 20) }
	return mib(withTable, before), mib(withCompiled, withTable), mib(withCache, withCompiled)
}

func benchCountRoutes(t *table.Table) int {
	n := 0
	for _, vh := range t.VirtualHosts {
		n += len(vh.Routes)
	}
	return n
}

// BenchmarkRouteChange measures, one iteration per change, how long a change of one route
// out of 10,000 takes to serve in a running Caddy:
//
//   - mesh_router: the changed HTTPRoute (its path prefix moved) is upserted into the
//     mesh's HTTPRoutes collection, which a test source (mesh.sources.bench, below)
//     publishes; the clock stops when a request to the new path is answered by the
//     backend. This is what a source does on a change, without a file watcher's debounce
//     or an API server's latency in the figure: mesh_router translates the inputs again
//     (with its Cache), compares, compiles what changed and swaps the table in.
//   - caddy_load: a Caddy config with the same 10,000 routes as static routes (host and
//     path matchers, each to a reverse_proxy to the same backend, in the same order), with
//     the same route changed, posted to the admin endpoint's /load (config persistence
//     off); the clock runs from the POST until a request to the new path is answered.
//
// Both run against one backend in this process, while a background client requests 16
// other routes over keep-alive connections, one after the other with a 1 ms pause.
// Reported per sub-benchmark: median-ms and max-ms of the change latency, failures
// (background requests that errored or were not answered by the backend: must be 0),
// bg-requests (how many it made). The
// mesh_router case also reports event-ms, from the upsert until the merged collection
// mesh_router watches delivers the change, list-ms, listing that collection (the
// handler's snapshot lists it and 7 smaller ones), and the steps of a change
// (benchChangeSteps): translate-ms, equal-ms and compile-ms. The client waiting for the
// new routing polls every 500 µs.
//
// Run it with a fixed count of changes: -benchtime 20x.
func BenchmarkRouteChange(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok "+r.URL.Path)
	}))
	defer backend.Close()
	backendAddr := strings.TrimPrefix(backend.URL, "http://")

	b.Run("mesh_router", func(b *testing.B) { benchMeshRouterChange(b, backendAddr) })
	b.Run("caddy_load", func(b *testing.B) { benchCaddyLoadChange(b, backendAddr) })
}

// benchChangedRoute picks the route the nth change moves: spread over the table, never one the
// background client requests.
func benchChangedRoute(n int) int {
	i := (n*7919 + 5003) % benchRoutes
	if benchIsBackgroundRoute(i) {
		i = (i + 1) % benchRoutes
	}
	return i
}

// benchBackgroundRoutes are the routes the background client requests: 16 spread over the
// table, the last one included.
func benchBackgroundRoutes() []int {
	out := make([]int, 16)
	for k := range out {
		out[k] = benchRoutes - 1 - k*(benchRoutes/16)
	}
	return out
}

func benchIsBackgroundRoute(i int) bool { return slices.Contains(benchBackgroundRoutes(), i) }

func benchMeshRouterChange(b *testing.B, backendAddr string) {
	objs := newBenchObjects(benchRoutes, benchHosts, benchServices, backendAddr)
	feeds := newBenchFeeds(objs)
	id := registerBenchFeeds(feeds)
	defer unregisterBenchFeeds(id)

	port := benchFreePort(b)
	apps := map[string]any{
		"mesh": map[string]any{"sources": map[string]any{"bench": map[string]any{"source": "bench", "id": id}}},
		"http": benchHTTPApp(port, []any{map[string]any{"handle": []any{map[string]any{"handler": "mesh_router", "gateway": benchGateway, "port": 80}}}}),
	}
	benchLoadCaddy(b, benchCaddyConfig(b, "", apps))
	defer benchStopCaddy(b)

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	client := newBenchClient()
	defer client.CloseIdleConnections()
	last := benchRoutes - 1
	benchWaitServed(b, client, base, benchHost(last, benchHosts), benchPath(last, 0), 60*time.Second)

	events, stopEvents := benchWatchMerged(b)
	defer stopEvents()

	bg := benchStartBackground(base)
	defer bg.stop()
	var lat, delivered []time.Duration
	n := 0
	for b.Loop() {
		n++
		i := benchChangedRoute(n)
		path := benchPath(i, n)
		changed := benchRoute(i, benchHosts, benchServices, path)
		events.want.Store(benchNS + "/" + changed.Name)
		start := time.Now()
		feeds.routes.Upsert(changed)
		benchWaitServed(b, client, base, benchHost(i, benchHosts), path, 10*time.Second)
		lat = append(lat, time.Since(start))
		select {
		case at := <-events.seen:
			delivered = append(delivered, at.Sub(start))
		case <-time.After(time.Second):
			b.Fatal("the merged collection did not deliver the change")
		}
	}
	failures, requests := bg.stop()
	benchReportChange(b, lat, failures, requests)
	b.ReportMetric(benchMs(benchMedian(delivered)), "event-ms")

	// Listing the merged collection, as the handler's snapshot of its inputs does.
	var listed []time.Duration
	for range 5 {
		start := time.Now()
		events.merged.List()
		listed = append(listed, time.Since(start))
	}
	b.ReportMetric(benchMs(benchMedian(listed)), "list-ms")

	benchChangeSteps(b, objs, feeds.routes.List())
}

// benchMergedEvents records when the merged HTTPRoutes collection, which mesh_router
// watches, delivers a change of the route named by want.
type benchMergedEvents struct {
	merged collection.Collection[*gatewayv1.HTTPRoute]
	want   atomic.Value // string: the route's key
	seen   chan time.Time
}

// benchWatchMerged watches the running config's merged HTTPRoutes collection.
func benchWatchMerged(b *testing.B) (*benchMergedEvents, func()) {
	app, err := caddy.ActiveContext().App("mesh")
	if err != nil {
		b.Fatal(err)
	}
	merged, err := mesh.Get[*gatewayv1.HTTPRoute](app.(*mesh.App).Registry(), model.CollectionName(model.MergedSource, model.HTTPRoutes))
	if err != nil {
		b.Fatal(err)
	}
	ev := &benchMergedEvents{merged: merged, seen: make(chan time.Time, 1)}
	ev.want.Store("")
	cancel := merged.WatchBatch(func(batch []collection.Event[*gatewayv1.HTTPRoute]) {
		now := time.Now()
		want := ev.want.Load().(string)
		for _, e := range batch {
			if e.Key == want {
				select {
				case ev.seen <- now:
				default:
				}
			}
		}
	})
	return ev, cancel
}

// benchChangeSteps reports the steps of one change as mesh_router's loop takes them, on
// routes (the collection's content after the changes) with the handler's caches warm:
// translate-ms for the translation with a Cache, equal-ms for the comparison with the
// table served, compile-ms for the compile that takes the rest over, with the swap.
// Medians of 5 changes.
func benchChangeSteps(b *testing.B, objs *benchObjects, routes []*gatewayv1.HTTPRoute) {
	in := objs.input()
	in.HTTPRoutes = slices.Clone(routes)
	in.Cache = gatewayapi.NewCache()
	index := make(map[string]int, len(routes))
	for k, r := range in.HTTPRoutes {
		index[r.Name] = k
	}
	c := benchCompiler(b, objs.slices)
	var rt Router
	defer rt.swap(nil)
	prev := benchTable(b, in)
	compiled, _ := c.compile(prev)
	rt.swap(compiled)
	var tr, eq, co []time.Duration
	for k := range 5 {
		i := benchChangedRoute(1000 + k)
		in.HTTPRoutes[index[fmt.Sprintf("route-%d", i)]] = benchRoute(i, benchHosts, benchServices, benchPath(i, 1000+k))
		start := time.Now()
		t := benchTable(b, in)
		tr = append(tr, time.Since(start))
		start = time.Now()
		if tablesEqual(prev, t) {
			b.Fatal("a changed route gives an equal table")
		}
		eq = append(eq, time.Since(start))
		start = time.Now()
		compiled, errs := c.compile(t)
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		rt.swap(compiled)
		co = append(co, time.Since(start))
		prev = t
	}
	b.ReportMetric(benchMs(benchMedian(tr)), "translate-ms")
	b.ReportMetric(benchMs(benchMedian(eq)), "equal-ms")
	b.ReportMetric(benchMs(benchMedian(co)), "compile-ms")
}

func benchCaddyLoadChange(b *testing.B, backendAddr string) {
	port, adminPort := benchFreePort(b), benchFreePort(b)
	admin := "127.0.0.1:" + strconv.Itoa(adminPort)
	paths := make([]string, benchRoutes)
	for i := range paths {
		paths[i] = benchPath(i, 0)
	}
	config := func() []byte {
		routes := make([]any, benchRoutes)
		for i, p := range paths {
			routes[i] = map[string]any{
				"match":  []any{map[string]any{"host": []string{benchHost(i, benchHosts)}, "path": []string{p + "*"}}},
				"handle": []any{map[string]any{"handler": "reverse_proxy", "upstreams": []any{map[string]any{"dial": backendAddr}}}},
			}
		}
		return benchCaddyConfig(b, admin, map[string]any{"http": benchHTTPApp(port, routes)})
	}
	benchLoadCaddy(b, config())
	defer benchStopCaddy(b)

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	client := newBenchClient()
	defer client.CloseIdleConnections()
	adminClient := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 60 * time.Second}
	last := benchRoutes - 1
	benchWaitServed(b, client, base, benchHost(last, benchHosts), benchPath(last, 0), 60*time.Second)

	bg := benchStartBackground(base)
	defer bg.stop()
	var lat []time.Duration
	n := 0
	for b.Loop() {
		n++
		i := benchChangedRoute(n)
		paths[i] = benchPath(i, n)
		body := config() // built before the clock starts: the push is what is measured
		start := time.Now()
		resp, err := adminClient.Post("http://"+admin+"/load", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatalf("POST /load: %v", err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("POST /load: %s: %s", resp.Status, msg)
		}
		benchWaitServed(b, client, base, benchHost(i, benchHosts), paths[i], 10*time.Second)
		lat = append(lat, time.Since(start))
	}
	failures, requests := bg.stop()
	benchReportChange(b, lat, failures, requests)
}

func benchReportChange(b *testing.B, lat []time.Duration, failures, requests int64) {
	b.ReportMetric(benchMs(benchMedian(lat)), "median-ms")
	b.ReportMetric(benchMs(slices.Max(lat)), "max-ms")
	b.ReportMetric(float64(failures), "failures")
	b.ReportMetric(float64(requests), "bg-requests")
	if failures > 0 {
		b.Errorf("%d of %d background requests failed during the changes", failures, requests)
	}
}

func benchMedian(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func benchMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// newBenchClient is a keep-alive client.
func newBenchClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 4},
		Timeout:   10 * time.Second,
	}
}

// benchGet requests path on host through base, and reports whether the backend answered it.
func benchGet(client *http.Client, base, host, path string) (bool, error) {
	req, err := http.NewRequest(http.MethodGet, base+path+"x", nil)
	if err != nil {
		return false, err
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusOK && string(body) == "ok "+path+"x", nil
}

// benchWaitServed polls until the backend answers a request to path on host.
func benchWaitServed(b *testing.B, client *http.Client, base, host, path string, within time.Duration) {
	deadline := time.Now().Add(within)
	for {
		ok, err := benchGet(client, base, host, path)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s%s on %s not served within %s (last error: %v)", base, path, host, within, err)
		}
		time.Sleep(benchPollPause)
	}
}

// benchBackgroundPause is the background client's pause between requests: it keeps
// requesting (about 1,000 requests/s) without taking one of the two cores of the machines
// this runs on away from the change it runs next to.
const benchBackgroundPause = time.Millisecond

// benchPollPause is the pause between the requests that wait for a change to serve: the
// latency's resolution.
const benchPollPause = 500 * time.Microsecond

// benchBackground is a client requesting routes that do not change, one request at a time.
type benchBackground struct {
	stopped  sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
	failures atomic.Int64
	requests atomic.Int64
}

func benchStartBackground(base string) *benchBackground {
	ctx, cancel := context.WithCancel(context.Background())
	bg := &benchBackground{cancel: cancel, done: make(chan struct{})}
	client := newBenchClient()
	routes := benchBackgroundRoutes()
	go func() {
		defer close(bg.done)
		defer client.CloseIdleConnections()
		for n := 0; ctx.Err() == nil; n++ {
			i := routes[n%len(routes)]
			ok, _ := benchGet(client, base, benchHost(i, benchHosts), benchPath(i, 0))
			bg.requests.Add(1)
			if !ok {
				bg.failures.Add(1)
			}
			time.Sleep(benchBackgroundPause)
		}
	}()
	return bg
}

// stop stops the client, once, and returns its counts.
func (bg *benchBackground) stop() (failures, requests int64) {
	bg.stopped.Do(func() {
		bg.cancel()
		<-bg.done
	})
	return bg.failures.Load(), bg.requests.Load()
}

// benchCaddyConfig is a config with the given apps, storage in a temporary folder, nothing
// persisted and only errors logged; the admin endpoint listens on admin, or is off. The tls
// app does not clean the storage: its lock's goroutine would outlive the benchmark.
func benchCaddyConfig(b *testing.B, admin string, apps map[string]any) []byte {
	apps = maps.Clone(apps)
	apps["tls"] = map[string]any{"disable_storage_clean": true}
	adm := map[string]any{"disabled": true, "config": map[string]any{"persist": false}}
	if admin != "" {
		adm = map[string]any{"listen": admin, "config": map[string]any{"persist": false}}
	}
	cfg, err := json.Marshal(map[string]any{
		"admin":   adm,
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "ERROR"}}},
		"storage": map[string]any{"module": "file_system", "root": b.TempDir()},
		"apps":    apps,
	})
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// benchHTTPApp is one plain-HTTP server on 127.0.0.1:port with the routes.
func benchHTTPApp(port int, routes []any) map[string]any {
	return map[string]any{"servers": map[string]any{"bench": map[string]any{
		"listen":          []string{"127.0.0.1:" + strconv.Itoa(port)},
		"automatic_https": map[string]any{"disable": true},
		"routes":          routes,
	}}}
}

func benchLoadCaddy(b *testing.B, cfg []byte) {
	if err := caddy.Load(cfg, true); err != nil {
		b.Fatalf("loading the config: %v", err)
	}
}

// benchStopCaddy stops the config, the admin endpoint included: a config with the endpoint
// off replaces it first.
func benchStopCaddy(b *testing.B) {
	if err := caddy.Load(benchCaddyConfig(b, "", map[string]any{}), true); err != nil {
		b.Errorf("loading the empty config: %v", err)
	}
	if err := caddy.Stop(); err != nil {
		b.Errorf("stopping caddy: %v", err)
	}
}

func benchFreePort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// benchFeeds are the collections mesh.sources.bench publishes, which a benchmark writes.
type benchFeeds struct {
	classes  *collection.Static[*gatewayv1.GatewayClass]
	gateways *collection.Static[*gatewayv1.Gateway]
	routes   *collection.Static[*gatewayv1.HTTPRoute]
	services *collection.Static[*corev1.Service]
	slices   *collection.Static[*discoveryv1.EndpointSlice]
}

func newBenchFeeds(o *benchObjects) *benchFeeds {
	f := &benchFeeds{
		classes:  collection.NewStatic[*gatewayv1.GatewayClass](),
		gateways: collection.NewStatic[*gatewayv1.Gateway](),
		routes:   collection.NewStatic[*gatewayv1.HTTPRoute](),
		services: collection.NewStatic[*corev1.Service](),
		slices:   collection.NewStatic[*discoveryv1.EndpointSlice](),
	}
	f.classes.Reset(o.classes)
	f.gateways.Reset(o.gateways)
	f.routes.Reset(o.routes)
	f.services.Reset(o.services)
	f.slices.Reset(o.slices)
	return f
}

// The feeds of the running benchmarks, by the id in the source's config.
var (
	benchFeedsMu sync.Mutex
	benchFeedsN  int
	benchFeedsBy = map[string]*benchFeeds{}
)

func registerBenchFeeds(f *benchFeeds) string {
	benchFeedsMu.Lock()
	defer benchFeedsMu.Unlock()
	benchFeedsN++
	id := strconv.Itoa(benchFeedsN)
	benchFeedsBy[id] = f
	return id
}

func unregisterBenchFeeds(id string) {
	benchFeedsMu.Lock()
	defer benchFeedsMu.Unlock()
	delete(benchFeedsBy, id)
}

func init() {
	caddy.RegisterModule(new(benchSource))
}

// benchSource is mesh.sources.bench, a source for benchmarks only: it publishes the
// collections registered under its id, which the benchmark writes to directly.
type benchSource struct {
	// ID names the registered feeds.
	ID string `json:"id"`
}

// CaddyModule returns the Caddy module information.
func (*benchSource) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "mesh.sources.bench",
		New: func() caddy.Module { return new(benchSource) },
	}
}

// Publish publishes the feeds' collections.
func (s *benchSource) Publish(p *mesh.Publisher) error {
	benchFeedsMu.Lock()
	f, ok := benchFeedsBy[s.ID]
	benchFeedsMu.Unlock()
	if !ok {
		return fmt.Errorf("no bench feeds %q", s.ID)
	}
	for _, err := range []error{
		mesh.PublishCollection(p, model.GatewayClasses, collection.Collection[*gatewayv1.GatewayClass](f.classes)),
		mesh.PublishCollection(p, model.Gateways, collection.Collection[*gatewayv1.Gateway](f.gateways)),
		mesh.PublishCollection(p, model.HTTPRoutes, collection.Collection[*gatewayv1.HTTPRoute](f.routes)),
		mesh.PublishCollection(p, model.Services, collection.Collection[*corev1.Service](f.services)),
		mesh.PublishCollection(p, model.EndpointSlices, collection.Collection[*discoveryv1.EndpointSlice](f.slices)),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// Interface guards
var _ mesh.Source = (*benchSource)(nil)
