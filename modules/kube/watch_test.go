package kube

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

// next returns the watcher's next event, failing the test if none comes in time.
func next[T Object](t *testing.T, w *Watcher[T], within time.Duration) WatchEvent[T] {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		if !ok {
			t.Fatal("the watch ended")
		}
		return ev
	case <-time.After(within):
		t.Fatalf("no event within %s", within)
	}
	panic("unreachable")
}

// closed waits for the watcher's channel to close with no further event.
func closed[T Object](t *testing.T, w *Watcher[T], within time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		if ok {
			t.Fatalf("want the channel closed, got a %s event (%v)", ev.Type, ev.Err)
		}
	case <-time.After(within):
		t.Fatalf("the channel did not close within %s", within)
	}
}

// watchCase is one type's run through added, modified and deleted events.
type watchCase interface {
	caseName() string
	run(t *testing.T)
}

type watchEvents[T Object] struct {
	name   string
	make   func(ns string) T
	change func(T)
}

func (c watchEvents[T]) caseName() string { return c.name }

func (c watchEvents[T]) run(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	list, err := List[T](ctx, testClient, ns, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := Watch[T](ctx, testClient, ns, WatchOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	created, err := Create(ctx, testClient, c.make(ns), CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.change(created)
	updated, err := Update(ctx, testClient, created, UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Delete[T](ctx, testClient, ns, created.GetName(), DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		typ EventType
		rv  string
	}{{Added, created.GetResourceVersion()}, {Modified, updated.GetResourceVersion()}, {Deleted, ""}} {
		ev := next(t, w, 10*time.Second)
		if ev.Type != want.typ || ev.Err != nil || ev.Object.GetName() != created.GetName() {
			t.Fatalf("want %s of %s, got %s of %v (%v)", want.typ, created.GetName(), ev.Type, ev.Object, ev.Err)
		}
		if ev.ResourceVersion != ev.Object.GetResourceVersion() || (want.rv != "" && ev.ResourceVersion != want.rv) {
			t.Errorf("%s: resource version %s, object's %s, want %s", ev.Type, ev.ResourceVersion, ev.Object.GetResourceVersion(), want.rv)
		}
	}
}

// TestWatchEvents checks Added, Modified and Deleted for a type watched straight from
// etcd (ConfigMaps, in this harness), one served from the watch cache (Meshlets) and a
// Gateway API type.
func TestWatchEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []watchCase{
		watchEvents[*corev1.ConfigMap]{
			name: "ConfigMap (etcd)",
			make: func(ns string) *corev1.ConfigMap {
				return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}}
			},
			change: func(cm *corev1.ConfigMap) { cm.Data = map[string]string{"a": "1"} },
		},
		watchEvents[*meshlessv1.Meshlet]{
			name:   "Meshlet (watch cache)",
			make:   func(ns string) *meshlessv1.Meshlet { return testMeshlet(ns, "w") },
			change: func(m *meshlessv1.Meshlet) { m.Labels = map[string]string{"a": "1"} },
		},
		watchEvents[*gatewayv1.HTTPRoute]{
			name: "HTTPRoute",
			make: func(ns string) *gatewayv1.HTTPRoute {
				return &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"}}
			},
			change: func(r *gatewayv1.HTTPRoute) { r.Spec.Hostnames = []gatewayv1.Hostname{"a.example"} },
		},
	} {
		t.Run(tc.caseName(), func(t *testing.T) {
			t.Parallel()
			tc.run(t)
		})
	}
}

// TestWatchSelectors checks that a watch sees only what its selectors select.
func TestWatchSelectors(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	w, err := Watch[*corev1.ConfigMap](ctx, testClient, ns, WatchOptions{LabelSelector: "pick=yes", FieldSelector: "metadata.name!=skip"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, cm := range []struct{ name, pick string }{{"no", "no"}, {"skip", "yes"}, {"yes", "yes"}} {
		obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cm.name, Labels: map[string]string{"pick": cm.pick}}}
		if _, err := Create(ctx, testClient, obj, CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if ev := next(t, w, 10*time.Second); ev.Type != Added || ev.Object.Name != "yes" {
		t.Errorf("want Added yes, got %s %v", ev.Type, ev.Object)
	}
}

// TestWatchBookmark checks the watch cache's periodic bookmarks (Secrets): a bookmark
// tells a watcher how far the cache has got when nothing it selects has changed, so here a
// Secret changes in another namespace. Servers send bookmarks about a minute apart, and
// also 2 s before the watch's timeout, which a 3 s timeout brings forward to about 1 s.
// The watch then ends cleanly: the channel closes with no error event.
func TestWatchBookmark(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns, elsewhere := newNamespace(t), newNamespace(t)
	created, err := Create(ctx, testClient, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s"}}, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w, err := Watch[*corev1.Secret](ctx, testClient, ns, WatchOptions{ResourceVersion: created.ResourceVersion, AllowBookmarks: true, TimeoutSeconds: ptr.To[int64](3)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	other, err := Create(ctx, testClient, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: elsewhere, Name: "s"}}, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := next(t, w, 10*time.Second)
	if ev.Type != Bookmark || ev.InitialEventsEnd {
		t.Fatalf("want a bookmark, got %s (%v)", ev.Type, ev.Err)
	}
	if mustInt(t, ev.ResourceVersion) < mustInt(t, other.ResourceVersion) {
		t.Errorf("bookmark at %s, before the change elsewhere at %s", ev.ResourceVersion, other.ResourceVersion)
	}
	t.Logf("bookmark after %s", time.Since(start).Round(time.Millisecond))
	// More bookmarks may follow; then the channel closes, with no error event.
	for ev := range w.Events() {
		if ev.Type != Bookmark {
			t.Fatalf("after the bookmark: want more bookmarks or the end, got %s (%v)", ev.Type, ev.Err)
		}
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("the watch ended after %s, before its 3 s timeout", d)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWatchSendInitialEvents checks the watch-list mode: an Added event per existing
// object, a bookmark marking the end of the initial events at once (not a minute later),
// then live events.
func TestWatchSendInitialEvents(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	for _, name := range []string{"a", "b"} {
		if _, err := Create(ctx, testClient, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	w, err := Watch[*corev1.Secret](ctx, testClient, ns, WatchOptions{SendInitialEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	seen := map[string]bool{}
	for range 2 {
		ev := next(t, w, 10*time.Second)
		if ev.Type != Added {
			t.Fatalf("want an initial Added event, got %s (%v)", ev.Type, ev.Err)
		}
		seen[ev.Object.Name] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("initial events for %v", seen)
	}
	ev := next(t, w, 5*time.Second)
	if ev.Type != Bookmark || !ev.InitialEventsEnd || ev.ResourceVersion == "" {
		t.Fatalf("want the initial-events-end bookmark, got %s end=%v", ev.Type, ev.InitialEventsEnd)
	}
	t.Logf("initial events ended after %s", time.Since(start).Round(time.Millisecond))
	if _, err := Create(ctx, testClient, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c"}}, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w, 10*time.Second); ev.Type != Added || ev.Object.Name != "c" {
		t.Errorf("want Added c, got %s %v", ev.Type, ev.Object)
	}
}

// TestWatchExpired resumes a watch of ConfigMaps (which bypass the watch cache here) from a
// version etcd has compacted away: the watch yields one Expired event whose error is a 410,
// and closes. It is not parallel: compaction is cluster-wide.
func TestWatchExpired(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	cm, err := Create(ctx, testClient, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "old"}}, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := cm.ResourceVersion
	for i := range 3 {
		cm.Data = map[string]string{"i": strconv.Itoa(i)}
		if cm, err = Update(ctx, testClient, cm, UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cluster.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := Watch[*corev1.ConfigMap](ctx, testClient, ns, WatchOptions{ResourceVersion: old})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := next(t, w, 10*time.Second)
	if ev.Type != Expired || !(apierrors.IsResourceExpired(ev.Err) || apierrors.IsGone(ev.Err)) {
		t.Fatalf("want Expired with a 410 error, got %s: %v", ev.Type, ev.Err)
	}
	if !strings.Contains(ev.Err.Error(), "watching ConfigMap in namespace") {
		t.Errorf("the error does not say what was watched: %v", ev.Err)
	}
	t.Logf("expired: %v", ev.Err)
	closed(t, w, 5*time.Second)
}

// TestWatchStreamError checks the three ways a watch fails after it opened, each ending
// with one StreamError event and a closed channel:
//   - the server sends an error event other than 410: a watch-list (SendInitialEvents) of a
//     watch-cache resource (Secrets) not older than a resource version far in the future is
//     answered, after the cache has waited 3 s to catch up, with a 504 "Too large resource
//     version" event (a plain watch from such a version just waits);
//   - the stream breaks off in the middle of an event (a proxy aborts the connection);
//   - an event cannot be decoded (a proxy injects one of an unknown type).
func TestWatchStreamError(t *testing.T) {
	t.Parallel()
	t.Run("server error event", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		ns := newNamespace(t)
		s, err := Create(ctx, testClient, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "s"}}, CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		future := strconv.FormatInt(mustInt(t, s.ResourceVersion)+1_000_000, 10)
		w, err := Watch[*corev1.Secret](ctx, testClient, ns, WatchOptions{ResourceVersion: future, SendInitialEvents: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ev := next(t, w, 30*time.Second)
		var status apierrors.APIStatus
		if ev.Type != StreamError || !errors.As(ev.Err, &status) || isExpired(ev.Err) {
			t.Fatalf("want a StreamError carrying a non-410 API status, got %s: %v", ev.Type, ev.Err)
		}
		t.Logf("server error event: %d %s: %v", status.Status().Code, status.Status().Reason, ev.Err)
		closed(t, w, 5*time.Second)
	})
	for _, tc := range []struct {
		name  string
		after func(ctx context.Context, w http.ResponseWriter, firstEvent []byte)
		want  func(error) bool
	}{
		{
			name: "broken stream",
			after: func(_ context.Context, w http.ResponseWriter, first []byte) {
				_, _ = w.Write(first[:len(first)/2])
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler) // drops the connection mid-event
			},
			want: func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) },
		},
		{
			name: "undecodable event",
			after: func(ctx context.Context, w http.ResponseWriter, _ []byte) {
				_, _ = w.Write([]byte(`{"type":"REPLACED","object":{"kind":"ConfigMap","apiVersion":"v1"}}` + "\n"))
				w.(http.Flusher).Flush()
				<-ctx.Done() // the stream stays open: the client must not wait for more
			},
			want: func(err error) bool { return strings.Contains(err.Error(), `invalid watch event type: REPLACED`) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			ns := newNamespace(t)
			c := proxiedClient(t, tc.after)
			list, err := List[*corev1.ConfigMap](ctx, c, ns, ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Create(ctx, c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "first"}}, CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			w, err := Watch[*corev1.ConfigMap](ctx, c, ns, WatchOptions{ResourceVersion: list.ResourceVersion})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			if ev := next(t, w, 10*time.Second); ev.Type != Added || ev.Object.Name != "first" {
				t.Fatalf("want Added first, got %s (%v)", ev.Type, ev.Err)
			}
			ev := next(t, w, 3*time.Second)
			if ev.Type != StreamError || !tc.want(ev.Err) {
				t.Fatalf("want a StreamError, got %s: %v", ev.Type, ev.Err)
			}
			t.Logf("%s: %v", tc.name, ev.Err)
			closed(t, w, 3*time.Second)
		})
	}
}

// proxiedClient returns a client whose requests pass through a proxy to the test cluster.
// The proxy passes the first event of every watch, then hands the connection to after.
func proxiedClient(t *testing.T, after func(ctx context.Context, w http.ResponseWriter, firstEvent []byte)) *Client {
	t.Helper()
	upstream, err := url.Parse(cluster.Host)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(upstream)
	rp.Transport = transport
	var handlers sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") != "true" {
			rp.ServeHTTP(w, r)
			return
		}
		handlers.Add(1)
		defer handlers.Done()
		req := r.Clone(r.Context())
		req.RequestURI, req.URL.Scheme, req.URL.Host, req.Host = "", upstream.Scheme, upstream.Host, upstream.Host
		resp, err := transport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		first, err := bufio.NewReader(resp.Body).ReadBytes('\n')
		if err != nil {
			return
		}
		_, _ = w.Write(first)
		w.(http.Flusher).Flush()
		after(r.Context(), w, first)
	}))
	cfg := &rest.Config{Host: srv.URL, QPS: -1}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		srv.CloseClientConnections()
		srv.Close()
		handlers.Wait()
	})
	return c
}

// TestWatchOpenErrors checks watches the server or client refuses up front: Watch itself
// returns the error, and no Watcher.
func TestWatchOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := Scheme()
	absent := schema.GroupVersion{Group: "absent.caddymesh.io", Version: "v1"}
	s.AddKnownTypes(absent, &meshlessv1.Meshlet{}, &meshlessv1.MeshletList{})
	noCRD, err := NewClient(cluster.Config(), WithScheme(s))
	if err != nil {
		t.Fatal(err)
	}
	defer noCRD.Close()
	for _, tc := range []struct {
		name string
		open func() error
		want func(error) bool
	}{
		{"bad label selector", func() error {
			_, err := Watch[*corev1.ConfigMap](ctx, testClient, "default", WatchOptions{LabelSelector: "a in (b"})
			return err
		}, apierrors.IsBadRequest},
		{"unsupported field selector on a CRD", func() error {
			_, err := Watch[*meshlessv1.Meshlet](ctx, testClient, "default", WatchOptions{FieldSelector: "spec.server=x"})
			return err
		}, apierrors.IsBadRequest},
		{"CRD not installed", func() error {
			_, err := Watch[*meshlessv1.Meshlet](ctx, noCRD.WithGroupVersion(absent), "default", WatchOptions{})
			return err
		}, meta.IsNoMatchError},
		{"namespace on a cluster-scoped type", func() error {
			_, err := Watch[*gatewayv1.GatewayClass](ctx, testClient, "default", WatchOptions{})
			return err
		}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "cluster-scoped") }},
	} {
		err := tc.open()
		if !tc.want(err) {
			t.Errorf("%s: unexpected error %v", tc.name, err)
		} else if !strings.HasPrefix(err.Error(), "watching ") {
			t.Errorf("%s: the error does not say what was watched: %v", tc.name, err)
		}
	}
}

// TestWatchStop checks that Stop and cancelling the context both end a watch promptly,
// close its channel and (checked by TestMain's goleak) leave no goroutine behind; and that
// Stop may be called again and after the watch has ended.
func TestWatchStop(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)

	w, err := Watch[*corev1.ConfigMap](testContext(t), testClient, ns, WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Stop()
	closed(t, w, time.Second)
	w.Stop()

	ctx, cancel := context.WithCancel(testContext(t))
	w, err = Watch[*corev1.ConfigMap](ctx, testClient, ns, WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	closed(t, w, 5*time.Second)
	w.Stop()

	// Stopping while an event waits to be taken.
	w, err = Watch[*corev1.ConfigMap](testContext(t), testClient, ns, WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(testContext(t), testClient, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pending"}}, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	w.Stop()
}

// TestListWatchInformer runs client-go shared informers over Meshlets through ListWatch,
// in each API group and with a label selector: each syncs with the objects already there,
// then sees an added one, and nothing of the other group or other labels.
func TestListWatchInformer(t *testing.T) {
	t.Parallel()
	compat := testClient.WithGroupVersion(meshlessv1.CompatGroupVersion)
	for _, tc := range []struct {
		name   string
		client *Client
		other  *Client
	}{{"canonical", testClient, compat}, {"compat", compat, testClient}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			ns := newNamespace(t)
			create := func(c *Client, name string, labelled bool) {
				t.Helper()
				m := testMeshlet(ns, name)
				if labelled {
					m.Labels = map[string]string{"informer": "yes"}
				}
				if _, err := Create(ctx, c, m, CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			create(tc.client, "before", true)
			create(tc.client, "unlabelled", false)
			create(tc.other, "other-group", true)

			lw := ListWatch[*meshlessv1.Meshlet](tc.client, ns, func(o *metav1.ListOptions) { o.LabelSelector = "informer=yes" })
			inf := cache.NewSharedIndexInformer(lw, &meshlessv1.Meshlet{}, 0, cache.Indexers{})
			added := make(chan string, 10)
			if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
				added <- obj.(*meshlessv1.Meshlet).Name
			}}); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { defer close(done); inf.Run(stop) }()
			defer func() { close(stop); <-done }()
			if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
				t.Fatal("the informer did not sync")
			}
			if keys := inf.GetStore().ListKeys(); len(keys) != 1 || keys[0] != ns+"/before" {
				t.Fatalf("synced store %v", keys)
			}
			create(tc.other, "after-other-group", true) // first, so that it would show before "after"
			create(tc.client, "after", true)
			for _, want := range []string{"before", "after"} {
				select {
				case got := <-added:
					if got != want {
						t.Fatalf("added %s, want %s", got, want)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("no add of %s", want)
				}
			}
			if keys := inf.GetStore().ListKeys(); len(keys) != 2 {
				t.Errorf("store holds %v, want before and after", keys)
			}
		})
	}
}
