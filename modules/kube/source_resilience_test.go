package kube

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// listCounter counts the requests of one resource path that fetch its whole state: a
// list, or a watch that starts with the initial state (sendInitialEvents, client-go's
// watch-list, which informers use where the server supports it).
type listCounter struct {
	path string
	n    atomic.Int64
}

func (lc *listCounter) wrap(next http.RoundTripper) http.RoundTripper {
	return &countingTransport{lc: lc, next: next}
}

type countingTransport struct {
	lc   *listCounter
	next http.RoundTripper
}

func (c *countingTransport) WrappedRoundTripper() http.RoundTripper { return c.next }

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	if req.Method == http.MethodGet && req.URL.Path == c.lc.path && (q.Get("watch") != "true" || q.Get("sendInitialEvents") == "true") {
		c.lc.n.Add(1)
	}
	return c.next.RoundTrip(req)
}

func createService(t *testing.T, c clients, ns, name string) {
	t.Helper()
	if _, err := c.core.CoreV1().Services(ns).Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// matchesServer checks that the collection holds exactly the API server's Services of the
// namespace, at the same resourceVersions: nothing lost, nothing extra, nothing stale.
func matchesServer(t *testing.T, c clients, l *loader, ns string) func() string {
	return func() string {
		list, err := c.core.CoreV1().Services(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err.Error()
		}
		col := typed[*corev1.Service](t, l, model.Services)
		if col.Len() != len(list.Items) {
			return fmt.Sprintf("collection holds %d services, server %d (%v)", col.Len(), len(list.Items), keysOf(col))
		}
		for _, want := range list.Items {
			got, ok := col.Get(ns + "/" + want.Name)
			if !ok || got.ResourceVersion != want.ResourceVersion {
				return fmt.Sprintf("service %s: collection has %v, server resourceVersion %s", want.Name, ok, want.ResourceVersion)
			}
		}
		return ""
	}
}

// TestSourceRelistsAfterCompaction cuts the source off, changes Services behind its back,
// compacts etcd past the source's resourceVersion, and lets it back: its watch resumes from
// a compacted revision, the API server answers 410 Gone (Services bypass the watch cache in
// the harness), and the informer re-lists. The collection must end up exactly the server's
// state: nothing lost, duplicated or stale.
func TestSourceRelistsAfterCompaction(t *testing.T) {
	ctx := context.Background()
	c := adminClients(t)
	ns := newNamespace(t)
	for i := range 5 {
		createService(t, c, ns, fmt.Sprintf("s%d", i))
	}
	proxy, err := cluster.NewProxy()
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	lists := &listCounter{path: "/api/v1/namespaces/" + ns + "/services"}
	cfg := cluster.Config()
	cfg.Host = proxy.Host()
	cfg.Wrap(lists.wrap)
	l := startTestLoader(t, loaderConfig{rest: cfg, namespaces: []string{ns}, kinds: []string{model.Services}})
	eventually(t, 30*time.Second, matchesServer(t, c, l, ns))
	if lists.n.Load() != 1 {
		t.Fatalf("%d lists before the cut, want 1", lists.n.Load())
	}
	events := typed[*corev1.Service](t, l, model.Services).EventCount()

	proxy.Cut()
	if err := c.core.CoreV1().Services(ns).Delete(ctx, "s0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := c.core.CoreV1().Services(ns).Get(ctx, "s1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Labels = map[string]string{"changed": "yes"}
	if _, err := c.core.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	createService(t, c, ns, "s5")
	// Another namespace's write moves etcd's revision past all of this namespace's, so the
	// compaction covers the source's last resourceVersion whatever it is.
	createService(t, c, newNamespace(t), "other")
	if _, err := cluster.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	// The source keeps serving its last state while cut off, and says why.
	eventually(t, 30*time.Second, func() string {
		col := typed[*corev1.Service](t, l, model.Services)
		if col.Len() != 5 {
			return fmt.Sprintf("while cut off the collection holds %d services, want the last 5", col.Len())
		}
		if col.LastError() == nil {
			return "no error shown while cut off"
		}
		return ""
	})
	proxy.Resume()

	eventually(t, 60*time.Second, matchesServer(t, c, l, ns))
	eventually(t, 10*time.Second, func() string {
		if err := typed[*corev1.Service](t, l, model.Services).LastError(); err != nil {
			return "error not cleared after recovery: " + err.Error()
		}
		return ""
	})
	if n := lists.n.Load(); n < 2 {
		t.Errorf("%d lists in all: the informer did not re-list after 410 Gone", n)
	}
	// Exactly the three changes: a delete, an update and an add. The re-list's unchanged
	// objects make no events.
	if got := typed[*corev1.Service](t, l, model.Services).EventCount() - events; got != 3 {
		t.Errorf("%d events from the re-list, want 3", got)
	}
}

// TestSourceSurvivesAPIServerRestart stops the API server: the collections keep their last
// state and show the error meanwhile, and converge once it is back.
func TestSourceSurvivesAPIServerRestart(t *testing.T) {
	ctx := context.Background()
	c := adminClients(t)
	ns := newNamespace(t)
	createService(t, c, ns, "before")
	createPod(t, c, readyPod(ns, "p", "node-a", nil))
	l := startTestLoader(t, loaderConfig{namespaces: []string{ns}, kinds: []string{model.Services, model.Pods}})
	eventually(t, 30*time.Second, matchesServer(t, c, l, ns))
	eventually(t, 30*time.Second, wantKeys(typed[*corev1.Pod](t, l, model.Pods), ns+"/p"))

	cluster.StopAPIServer()
	restarted := false
	defer func() {
		if !restarted { // leave a working cluster to the other tests whatever happens
			_ = cluster.StartAPIServer(ctx)
		}
	}()
	eventually(t, 60*time.Second, func() string {
		for _, kind := range []string{model.Services, model.Pods} {
			info := l.stores[kind].info()
			if info.Len() != 1 || !info.HasSynced() {
				return fmt.Sprintf("%s lost its state: %d items, synced %v", kind, info.Len(), info.HasSynced())
			}
			if err := info.LastError(); err == nil || !strings.Contains(err.Error(), "connect") {
				return fmt.Sprintf("%s shows no connection error while the API server is down: %v", kind, err)
			}
		}
		return ""
	})
	if err := cluster.StartAPIServer(ctx); err != nil {
		t.Fatalf("restarting the API server: %v\n%s", err, cluster.Logs("kube-apiserver", 4000))
	}
	restarted = true
	c = adminClients(t)
	createService(t, c, ns, "after")
	// Bound to a node, a Pod waits for its kubelet unless deleted at once.
	if err := c.core.CoreV1().Pods(ns).Delete(ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, matchesServer(t, c, l, ns))
	eventually(t, 60*time.Second, wantKeys(typed[*corev1.Pod](t, l, model.Pods)))
	eventually(t, 30*time.Second, func() string {
		for _, kind := range []string{model.Services, model.Pods} {
			if err := l.stores[kind].info().LastError(); err != nil {
				return kind + ": error not cleared: " + err.Error()
			}
		}
		return ""
	})
}
