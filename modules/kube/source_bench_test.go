package kube

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"

	"github.com/caddymesh/caddymesh/integration/kubeharness"
	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// The scale benchmarks run the source and, as its peer, what a typical controller holds:
// client-go's shared informer factory and gateway-api's generated one, with no transform
// and event handlers that do nothing. Both read the same objects (kubeharness.BenchScale:
// 5,000 Services, 5,000 EndpointSlices with 50,000 endpoints, 1,000 HTTPRoutes) from one
// namespace, which the first benchmark fills; normal test runs never do.
//
//	go test -run '^$' -bench 'Sync$|UpdateLatency$' -benchtime 5s -count 3 ./modules/kube/
//
// BenchmarkPairedUpdateLatency runs both sides at once, for a comparison of latencies that
// the API server's varying speed does not blur. For profiles, each side's goroutines carry the pprof label side=source or
// side=informers (go tool pprof -tagfocus side=source), and -scaleheapprofile=<prefix>
// writes the heap profile of each sync benchmark's first iteration, taken while synced, to
// <prefix>-<side>.pb.gz:
//
//	go test -run '^$' -bench 'Sync$' -benchtime 3x -cpuprofile /tmp/kube-sync.cpu \
//		-memprofilerate 4096 ./modules/kube/ -args -scaleheapprofile /tmp/kube-heap

// scaleNamespace holds the benchmarks' objects. It is not deleted: the cluster goes with
// the test binary.
const scaleNamespace = "bench-scale"

var scaleHeapProfile = flag.String("scaleheapprofile", "",
	"sync benchmarks: write the heap profile taken while synced to `prefix`-<side>.pb.gz")

// scaleSettle is the pause between populating and the first measurement.
const scaleSettle = 15 * time.Second

var scaleKinds = []string{model.Services, model.EndpointSlices, model.HTTPRoutes}

var (
	populateOnce sync.Once
	populateErr  error
)

// populated fills scaleNamespace, once per test binary, and returns its name.
func populated(b *testing.B) string {
	b.Helper()
	populateOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		s := kubeharness.BenchScale
		populateErr = cluster.Populate(ctx, scaleNamespace, s)
		if populateErr != nil {
			return
		}
		b.Logf("populated %d Services, %d EndpointSlices (%d endpoints) and %d HTTPRoutes in %s",
			s.Services, s.Services, s.Services*s.EndpointsPerSlice, s.HTTPRoutes, time.Since(start).Round(time.Millisecond))
		// The API server and etcd keep working for some seconds after a burst of 11,000
		// writes: measured at once, the first side synced in about 2 s rather than 0.8 s.
		time.Sleep(scaleSettle)
	})
	if populateErr != nil {
		b.Fatalf("populating the cluster: %v", populateErr)
	}
	return scaleNamespace
}

// scaleWant is how many objects of each of scaleKinds a synced side holds.
func scaleWant() []int {
	s := kubeharness.BenchScale
	return []int{s.Services, s.Services, s.HTTPRoutes}
}

// scaleSide is one side of a comparison, started.
type scaleSide interface {
	// waitSynced blocks until every kind has synced.
	waitSynced(ctx context.Context) error
	// counts returns how many objects each of scaleKinds holds.
	counts() []int
	// stop stops everything the side started and waits for it.
	stop()
}

// deliverFunc receives a Service's update: its name and resourceVersion.
type deliverFunc func(name, resourceVersion string)

// sourceSide is the source: a loader, with a watch on its services collection when an
// update benchmark asks for one.
type sourceSide struct {
	l      *loader
	cancel func()
}

func startSource(b *testing.B, ns string, deliver deliverFunc) scaleSide {
	l, err := startLoader(loaderConfig{
		source:     "bench",
		rest:       cluster.Config(),
		namespaces: []string{ns},
		kinds:      scaleKinds,
		logger:     zap.NewNop(),
	})
	if err != nil {
		b.Fatal(err)
	}
	s := &sourceSide{l: l, cancel: func() {}}
	if deliver != nil {
		services := l.stores[model.Services].(*store[*corev1.Service]).static
		s.cancel = services.Watch(func(e collection.Event[*corev1.Service]) {
			if e.Type == collection.Updated {
				deliver(e.New.Name, e.New.ResourceVersion)
			}
		})
	}
	return s
}

func (s *sourceSide) waitSynced(ctx context.Context) error {
	for _, kind := range scaleKinds {
		select {
		case <-s.l.stores[kind].info().Synced():
		case <-ctx.Done():
			return fmt.Errorf("%s not synced: %w (last error: %v)", kind, ctx.Err(), s.l.stores[kind].info().LastError())
		}
	}
	return nil
}

func (s *sourceSide) counts() []int {
	out := make([]int, len(scaleKinds))
	for i, kind := range scaleKinds {
		out[i] = s.l.stores[kind].info().Len()
	}
	return out
}

func (s *sourceSide) stop() {
	s.cancel()
	_ = s.l.Destruct()
}

// informersSide is the peer: the two shared informer factories of one namespace, as a
// controller makes them, each informer with one event handler that does nothing (or, for
// Services in the update benchmark, passes updates on).
type informersSide struct {
	stopCh    chan struct{}
	core      informers.SharedInformerFactory
	gateway   gatewayinformers.SharedInformerFactory
	transport http.RoundTripper
	synced    []cache.InformerSynced
	stores    []cache.Store
}

func startInformers(b *testing.B, ns string, deliver deliverFunc) scaleSide {
	cfg := cluster.Config()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gatewayclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		b.Fatal(err)
	}
	s := &informersSide{
		stopCh:    make(chan struct{}),
		core:      informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns)),
		gateway:   gatewayinformers.NewSharedInformerFactoryWithOptions(gw, 0, gatewayinformers.WithNamespace(ns)),
		transport: hc.Transport,
	}
	noop := cache.ResourceEventHandlerFuncs{AddFunc: func(any) {}, UpdateFunc: func(_, _ any) {}, DeleteFunc: func(any) {}}
	services := noop
	if deliver != nil {
		services.UpdateFunc = func(_, obj any) {
			if svc, ok := obj.(*corev1.Service); ok {
				deliver(svc.Name, svc.ResourceVersion)
			}
		}
	}
	for i, inf := range []cache.SharedIndexInformer{ // in the order of scaleKinds
		s.core.Core().V1().Services().Informer(),
		s.core.Discovery().V1().EndpointSlices().Informer(),
		s.gateway.Gateway().V1().HTTPRoutes().Informer(),
	} {
		h := noop
		if i == 0 {
			h = services
		}
		reg, err := inf.AddEventHandler(h)
		if err != nil {
			b.Fatal(err)
		}
		s.synced = append(s.synced, reg.HasSynced)
		s.stores = append(s.stores, inf.GetStore())
	}
	s.core.Start(s.stopCh)
	s.gateway.Start(s.stopCh)
	return s
}

func (s *informersSide) waitSynced(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return fmt.Errorf("informers not synced: %w", ctx.Err())
	}
	return nil
}

func (s *informersSide) counts() []int {
	out := make([]int, len(s.stores))
	for i, st := range s.stores {
		out[i] = len(st.ListKeys())
	}
	return out
}

func (s *informersSide) stop() {
	close(s.stopCh)
	s.core.Shutdown()
	s.gateway.Shutdown()
	utilnet.CloseIdleConnectionsFor(s.transport)
}

type startFunc func(b *testing.B, ns string, deliver deliverFunc) scaleSide

// labeled starts a side with the pprof label side=<name>, which the goroutines it starts
// inherit, so that profiles can tell the sides from each other and from populating.
func labeled(name string, start startFunc) startFunc {
	return func(b *testing.B, ns string, deliver deliverFunc) (side scaleSide) {
		pprof.Do(context.Background(), pprof.Labels("side", name), func(context.Context) {
			side = start(b, ns, deliver)
		})
		return side
	}
}

// BenchmarkSourceSync measures the source's time from start to synced (ns/op), and the
// heap it retains once synced (heap-MB, from the first iteration).
func BenchmarkSourceSync(b *testing.B) { benchSync(b, "source", startSource) }

// BenchmarkInformersSync is BenchmarkSourceSync's peer: plain shared informers.
func BenchmarkInformersSync(b *testing.B) { benchSync(b, "informers", startInformers) }

func benchSync(b *testing.B, name string, start startFunc) {
	start = labeled(name, start)
	ns := populated(b)
	want := scaleWant()
	var heapMB float64
	first := true
	for b.Loop() {
		b.StopTimer()
		before := liveHeap()
		b.StartTimer()

		side := start(b, ns, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := side.waitSynced(ctx)
		cancel()

		b.StopTimer()
		if err != nil {
			side.stop()
			b.Fatal(err)
		}
		if got := side.counts(); !slices.Equal(got, want) {
			side.stop()
			b.Fatalf("synced with %v objects of %v, want %v", got, scaleKinds, want)
		}
		if first {
			// Retained: the side is alive and holds everything.
			heapMB = float64(int64(liveHeap())-int64(before)) / 1e6
			if *scaleHeapProfile != "" {
				writeHeapProfile(b, *scaleHeapProfile+"-"+name+".pb.gz")
			}
		}
		side.stop()
		if first {
			b.Logf("heap retained while synced: %.1f MB; after stopping: %.1f MB",
				heapMB, float64(int64(liveHeap())-int64(before))/1e6)
			first = false
		}
		b.StartTimer()
	}
	b.ReportMetric(heapMB, "heap-MB")
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// liveHeap returns the bytes of live heap objects, after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // the second cycle frees what the first one's finalizers released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkSourceUpdateLatency measures, with the source synced, the time from sending a
// change of one Service's label to the services collection's watch handler seeing that
// resourceVersion: ns/op per update, p50-ns and p99-ns of the latency, and reply-p50-ns,
// the median round trip of the patch request alone (the API server's share: the write
// must reach etcd, and etcd's watch the API server, before any client can see it).
func BenchmarkSourceUpdateLatency(b *testing.B) {
	benchUpdateLatency(b, latencySide{"source", startSource})
}

// BenchmarkInformersUpdateLatency is BenchmarkSourceUpdateLatency's peer: the time until
// the Service informer's UpdateFunc sees the resourceVersion.
func BenchmarkInformersUpdateLatency(b *testing.B) {
	benchUpdateLatency(b, latencySide{"informers", startInformers})
}

// BenchmarkPairedUpdateLatency runs both sides at once, each waiting for every update, so
// that the API server's speed, which varies from run to run far more than the sides
// differ, is the same for both: source-p50-ns, informers-p50-ns (and p99), and
// diff-p50-ns and diff-p99-ns, quantiles of the per-update difference source − informers.
//
// The side that starts first opens its watch first and, in this setup, tends to receive
// each event first; so the sides take turns (first=…), and the mean of the two diff-p50s
// is the difference without that bias.
func BenchmarkPairedUpdateLatency(b *testing.B) {
	source, informers := latencySide{"source", startSource}, latencySide{"informers", startInformers}
	b.Run("first=source", func(b *testing.B) { benchUpdateLatency(b, source, informers) })
	b.Run("first=informers", func(b *testing.B) { benchUpdateLatency(b, informers, source) })
}

type latencySide struct {
	name  string
	start startFunc
}

func benchUpdateLatency(b *testing.B, sides ...latencySide) {
	ns := populated(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	waiters := make([]*rvWaiter, len(sides))
	for i, sd := range sides {
		waiters[i] = newRVWaiter()
		side := labeled(sd.name, sd.start)(b, ns, waiters[i].deliver)
		defer side.stop()
		if err := side.waitSynced(ctx); err != nil {
			b.Fatal(err)
		}
	}

	cfg := cluster.Config()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer utilnet.CloseIdleConnectionsFor(hc.Transport)
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		b.Fatal(err)
	}
	services := cs.CoreV1().Services(ns)
	n := kubeharness.BenchScale.Services
	// Every patch sets a value the label never had, so every one is a change.
	base := time.Now().UnixNano()
	latencies := make([][]time.Duration, len(sides))
	var replies, diffs []time.Duration
	i := 0
	for b.Loop() {
		name := kubeharness.ScaleServiceName(i % n)
		patch := fmt.Appendf(nil, `{"metadata":{"labels":{"bench-rev":"%d"}}}`, base+int64(i))
		i++
		sent := time.Now()
		svc, err := services.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		replies = append(replies, time.Since(sent))
		for j, w := range waiters {
			at, err := w.wait(ctx, name, svc.ResourceVersion)
			if err != nil {
				b.Fatal(err)
			}
			latencies[j] = append(latencies[j], at.Sub(sent))
		}
		if len(sides) == 2 {
			diff := latencies[0][len(latencies[0])-1] - latencies[1][len(latencies[1])-1]
			if sides[0].name != "source" {
				diff = -diff
			}
			diffs = append(diffs, diff)
		}
	}
	for j, sd := range sides {
		prefix := ""
		if len(sides) > 1 {
			prefix = sd.name + "-"
		}
		reportQuantiles(b, latencies[j], prefix)
	}
	if len(sides) == 2 {
		reportQuantiles(b, diffs, "diff-")
	}
	slices.Sort(replies)
	b.ReportMetric(float64(quantile(replies, 0.50).Nanoseconds()), "reply-p50-ns")
}

// reportQuantiles reports the median and the 99th percentile of durations, in ns.
func reportQuantiles(b *testing.B, d []time.Duration, prefix string) {
	slices.Sort(d)
	b.ReportMetric(float64(quantile(d, 0.50).Nanoseconds()), prefix+"p50-ns")
	b.ReportMetric(float64(quantile(d, 0.99).Nanoseconds()), prefix+"p99-ns")
}

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// rvWaiter records, per Service, the last resourceVersion a handler delivered and when, so
// that the benchmark can wait for a version that may arrive before the patch returns.
type rvWaiter struct {
	mu   sync.Mutex
	last map[string]delivery // by Service name
	woke chan struct{}       // a token after each delivery
}

type delivery struct {
	rv string
	at time.Time
}

func newRVWaiter() *rvWaiter {
	return &rvWaiter{last: make(map[string]delivery), woke: make(chan struct{}, 1)}
}

func (w *rvWaiter) deliver(name, rv string) {
	at := time.Now()
	w.mu.Lock()
	w.last[name] = delivery{rv: rv, at: at}
	w.mu.Unlock()
	select {
	case w.woke <- struct{}{}:
	default:
	}
}

// wait returns when the handler saw resourceVersion rv of the Service name.
func (w *rvWaiter) wait(ctx context.Context, name, rv string) (time.Time, error) {
	limit := time.NewTimer(30 * time.Second)
	defer limit.Stop()
	for {
		w.mu.Lock()
		d := w.last[name]
		w.mu.Unlock()
		if d.rv == rv {
			return d.at, nil
		}
		select {
		case <-w.woke:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("waiting for %s at resourceVersion %s (last seen %q): %w", name, rv, d.rv, ctx.Err())
		case <-limit.C:
			return time.Time{}, fmt.Errorf("%s at resourceVersion %s not delivered within 30s (last seen %q)", name, rv, d.rv)
		}
	}
}
