package file

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/collection"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

func services(l *loader) *collection.Static[*corev1.Service] {
	return l.stores[model.Services].(*typedStore[*corev1.Service]).s
}

func port(t *testing.T, c collection.Collection[*corev1.Service], key string) int32 {
	t.Helper()
	s, ok := c.Get(key)
	if !ok {
		return 0
	}
	return s.Spec.Ports[0].Port
}

// TestLoaderSync drives sync directly (no watcher) through a sequence of edits.
func TestLoaderSync(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	write(t, a, service("one", 80)+"---\n"+service("two", 81))
	l := newTestLoader(t, false, time.Millisecond, dir)
	svcs := services(l)

	steps := []struct {
		name     string
		edit     func()
		want     map[string]int32 // key → port; 0 means absent
		wantErr  string           // substring of the services collection's last error
		wantNone bool             // no error expected
	}{
		{"initial load", func() {}, map[string]int32{"ns/one": 80, "ns/two": 81}, "", true},
		{"edit applies", func() { write(t, a, service("one", 90)+"---\n"+service("two", 81)) },
			map[string]int32{"ns/one": 90, "ns/two": 81}, "", true},
		{"a broken document keeps its last good object; the good one updates", func() {
			write(t, a, service("one", 70000)+"---\n"+service("two", 82))
		}, map[string]int32{"ns/one": 90, "ns/two": 82}, "a.yaml: document 0 (Service ns/one): spec.ports[0].port", false},
		{"a YAML syntax error keeps the whole file", func() { write(t, a, "apiVersion: v1\nkind: [\n") },
			map[string]int32{"ns/one": 90, "ns/two": 82}, "a.yaml: document 0", false},
		{"fixing the file clears the error", func() { write(t, a, service("one", 91)) },
			map[string]int32{"ns/one": 91, "ns/two": 0}, "", true},
		{"a duplicate in another file is ignored and reported", func() { write(t, b, service("one", 5)+"---\n"+service("three", 6)) },
			map[string]int32{"ns/one": 91, "ns/three": 6}, "b.yaml: document 0: services \"ns/one\" is already defined in", false},
		{"deleting a file removes its objects", func() { os.Remove(b) },
			map[string]int32{"ns/one": 91, "ns/three": 0}, "", true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.edit()
			l.sync()
			for key, want := range st.want {
				if got := port(t, svcs, key); got != want {
					t.Errorf("%s: port %d, want %d", key, got, want)
				}
			}
			err := svcs.LastError()
			switch {
			case st.wantNone && err != nil:
				t.Errorf("unexpected error: %v", err)
			case !st.wantNone && (err == nil || !strings.Contains(err.Error(), st.wantErr)):
				t.Errorf("error %v, want one containing %q", err, st.wantErr)
			}
		})
	}
	if !svcs.HasSynced() {
		t.Fatal("not synced after the first load")
	}
}

// TestLoaderErrorsByKind checks that a bad Meshlet is reported on the meshlets collection,
// not on services, and a document of unknown kind on every collection.
func TestLoaderErrorsByKind(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "m.yaml"), `apiVersion: meshless.caddymesh.io/v1
kind: Meshlet
metadata: {name: m, namespace: ns}
spec:
  server:
    selector: {app: m}
    services: [{name: api, maxConn: 0}]
`)
	l := newTestLoader(t, false, time.Millisecond, dir)
	if err := l.stores[model.Meshlets].(*typedStore[*meshlessv1.Meshlet]).s.LastError(); err == nil || !strings.Contains(err.Error(), "maxConn") {
		t.Errorf("meshlets error %v, want maxConn", err)
	}
	if err := services(l).LastError(); err != nil {
		t.Errorf("services got another kind's error: %v", err)
	}
	write(t, filepath.Join(dir, "x.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\n")
	l.sync()
	if err := services(l).LastError(); err == nil || !strings.Contains(err.Error(), "x.yaml") {
		t.Errorf("unknown kind not reported on services: %v", err)
	}
	// A Secret of another type than kubernetes.io/tls is an error of tlssecrets only.
	write(t, filepath.Join(dir, "x.yaml"), "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\n")
	l.sync()
	if err := l.stores[model.TLSSecrets].(*typedStore[*corev1.Secret]).s.LastError(); err == nil || !strings.Contains(err.Error(), `"Opaque"`) {
		t.Errorf("tlssecrets error %v, want the Opaque type named", err)
	}
	if err := services(l).LastError(); err != nil {
		t.Errorf("services got the secret's error: %v", err)
	}
}

// TestWatchBurstMakesOneUpdate writes a file many times in quick succession and checks that
// the watcher re-reads once, and that the last write wins.
func TestWatchBurstMakesOneUpdate(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "s.yaml")
	write(t, f, service("s", 1))
	l := newTestLoader(t, true, 500*time.Millisecond, dir)
	svcs := services(l)
	var batches atomic.Int64
	cancel := svcs.WatchBatch(func([]collection.Event[*corev1.Service]) { batches.Add(1) })
	defer cancel()
	waitFor(t, time.Second, func() bool { return batches.Load() == 1 }) // the initial state

	start := time.Now()
	for i := 2; i <= 20; i++ {
		write(t, f, service("s", i))
	}
	if time.Since(start) > 300*time.Millisecond {
		t.Skip("machine too slow to write a burst inside the debounce window")
	}
	waitFor(t, 2*time.Second, func() bool { return port(t, svcs, "ns/s") == 20 })
	time.Sleep(700 * time.Millisecond) // room for a second, unwanted update
	if n := batches.Load() - 1; n != 1 {
		t.Fatalf("burst of 19 writes made %d updates, want 1", n)
	}
}

// TestWatchAppliesWithinASecond checks the latency bound, including for a directory that is
// created after the source started.
func TestWatchAppliesWithinASecond(t *testing.T) {
	dir := t.TempDir()
	later := filepath.Join(dir, "later")
	l := newTestLoader(t, true, 50*time.Millisecond, later)
	svcs := services(l)
	if svcs.LastError() == nil {
		t.Fatal("a missing directory should be reported")
	}
	write(t, filepath.Join(later, "s.yaml"), service("s", 7))
	start := time.Now()
	waitFor(t, 3*time.Second, func() bool { return port(t, svcs, "ns/s") == 7 })
	if d := time.Since(start); d > time.Second {
		t.Errorf("applied after %s, want within 1s", d)
	}
}

// TestLoaderReleasesDescriptors starts and stops watching loaders and checks that their
// inotify descriptors are closed.
func TestLoaderReleasesDescriptors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "s.yaml"), service("s", 1))
	before := openFDs(t)
	for i := 0; i < 5; i++ {
		l, err := startLoader(loaderConfig{source: "file", paths: []string{dir}, debounce: time.Millisecond, watch: true, logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Destruct(); err != nil {
			t.Fatal(err)
		}
	}
	if after := openFDs(t); after > before {
		t.Fatalf("open descriptors grew from %d to %d", before, after)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(entries)
}
