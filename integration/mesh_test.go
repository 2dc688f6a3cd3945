package integration

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

var quickstartCounts = map[string]int{
	"file/namespaces":      1,
	"file/services":        2,
	"file/endpointslices":  2,
	"file/pods":            3,
	"file/meshlets":        2,
	"file/httproutes":      1,
	"file/gateways":        1,
	"file/gatewayclasses":  1,
	"file/tlsroutes":       0,
	"file/referencegrants": 0,
	"merged/services":      2,
	"merged/meshlets":      2,
	"merged/pods":          3,
}

// TestQuickstartAdminAPI runs the quickstart's manifests in a real Caddy and reads them back
// through the admin API, as the README's curl does.
func TestQuickstartAdminAPI(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := copyDir(t, "../examples/quickstart/manifests")
	in := newInstance(t)
	in.load(fileSourceApps("file", dir))
	defer in.stop()

	if msg := wantCounts(in.collections(), quickstartCounts); msg != "" {
		t.Fatal(msg)
	}

	cases := []struct {
		name, method, path string
		code               int
		contains           []string
	}{
		{"list items sorted", "GET", "/mesh/collections/file/services", 200,
			[]string{`{"items":[{"kind":"Service","apiVersion":"v1","metadata":{"name":"catalog"`, `"name":"frontend"`}},
		{"one item by key", "GET", "/mesh/collections/file/services?key=shop/catalog", 200,
			[]string{`"name": "catalog"`, `"targetPort": 9090`, `"protocol": "TCP"`}},
		{"meshless group loads as the same kind", "GET", "/mesh/collections/merged/meshlets?key=shop/catalog", 200,
			[]string{`"apiVersion": "meshless.caddymesh.io/v1"`, `"weight": 10`}},
		{"missing key", "GET", "/mesh/collections/file/services?key=shop/nope", 404, []string{`no item with key`}},
		{"missing collection", "GET", "/mesh/collections/nosuch/services", 404, []string{`not found`}},
		{"kind without source", "GET", "/mesh/collections/file", 404, []string{`not found`}},
		{"too deep", "GET", "/mesh/collections/file/services/extra", 404, []string{`not found`}},
		{"wrong method", "POST", "/mesh/collections", 405, []string{`not allowed`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := in.do(tc.method, tc.path)
			if code != tc.code {
				t.Fatalf("%s %s: code %d, want %d: %s", tc.method, tc.path, code, tc.code, body)
			}
			for _, s := range tc.contains {
				if !strings.Contains(string(body), s) {
					t.Errorf("%s %s: body lacks %q:\n%s", tc.method, tc.path, s, body)
				}
			}
		})
	}

	code, body := in.get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	for _, want := range []string{
		`caddy_mesh_collection_items{kind="services",source="file"} 2`,
		`caddy_mesh_collection_synced{kind="pods",source="file"} 1`,
		`caddy_mesh_collection_error{kind="services",source="file"} 0`,
		`caddy_mesh_collection_events_total{kind="pods",source="file"} 3`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestFileSourceWatches edits, breaks and fixes manifests under a running Caddy.
func TestFileSourceWatches(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := copyDir(t, "../examples/quickstart/manifests")
	in := newInstance(t)
	in.load(fileSourceApps("file", dir))
	defer in.stop()

	// A new file is picked up within a second.
	writeFile(t, filepath.Join(dir, "extra.yaml"), `apiVersion: v1
kind: Service
metadata: {name: extra, namespace: shop}
spec:
  ports: [{port: 8080}]
`)
	eventually(t, 2*time.Second, func() string {
		return wantCounts(in.collections(), map[string]int{"file/services": 3, "merged/services": 3})
	})

	// Breaking a document keeps the file's last good objects and reports where.
	writeFile(t, filepath.Join(dir, "extra.yaml"), `apiVersion: v1
kind: Service
metadata: {name: extra, namespace: shop}
spec:
  ports: [{port: 70000}]
`)
	eventually(t, 2*time.Second, func() string {
		r := in.collections()["file/services"]
		if !strings.Contains(r.LastError, "extra.yaml") || !strings.Contains(r.LastError, "document 0") ||
			!strings.Contains(r.LastError, "spec.ports[0].port") {
			return "last error does not name file, document and field: " + r.LastError
		}
		return wantCounts(in.collections(), map[string]int{"file/services": 3})
	})
	_, body := in.get("/mesh/collections/file/services?key=shop/extra")
	if !strings.Contains(string(body), `"port": 8080`) {
		t.Fatalf("broken edit did not keep the last good Service: %s", body)
	}

	// Fixing it clears the error; deleting the file removes its objects.
	writeFile(t, filepath.Join(dir, "extra.yaml"), `apiVersion: v1
kind: Service
metadata: {name: extra, namespace: shop}
spec:
  ports: [{port: 8081}]
`)
	eventually(t, 2*time.Second, func() string {
		if r := in.collections()["file/services"]; r.LastError != "" {
			return "error not cleared: " + r.LastError
		}
		_, body := in.get("/mesh/collections/file/services?key=shop/extra")
		if !strings.Contains(string(body), `"port": 8081`) {
			return "fixed Service not applied"
		}
		return ""
	})
}

// TestReloadKeepsSourceState reloads Caddy with a config whose file source is unchanged: the
// new app must be handed the same collections (no re-read), and the old app's watchers must
// be gone.
func TestReloadKeepsSourceState(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := copyDir(t, "../examples/quickstart/manifests")
	other := copyDir(t, "../examples/quickstart/manifests")
	in := newInstance(t)
	apps := fileSourceApps("file", dir)
	in.load(apps)
	defer in.stop()
	before := servicesCollection(t)

	// Add a second source: the mesh app changes, the first source does not.
	apps["mesh"].(map[string]any)["sources"].(map[string]any)["other"] =
		map[string]any{"source": "file", "paths": []string{other}}
	in.load(apps)
	if after := servicesCollection(t); after != before {
		t.Fatal("reload with an unchanged source replaced its collection")
	}
	if msg := wantCounts(in.collections(), map[string]int{"file/services": 2, "other/services": 2, "merged/services": 2}); msg != "" {
		t.Fatal(msg)
	}

	// Changing the source's own config does rebuild it.
	apps["mesh"].(map[string]any)["sources"].(map[string]any)["file"].(map[string]any)["debounce"] = "60ms"
	in.load(apps)
	if after := servicesCollection(t); after == before {
		t.Fatal("reload with a changed source kept its old collection")
	}
}

func servicesCollection(t *testing.T) any {
	t.Helper()
	ctx := caddy.ActiveContext()
	app, err := mesh.FromContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mesh.Get[*corev1.Service](app.Registry(), "file/services")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStartStopLeaksNothing starts and stops the mesh app repeatedly.
func TestStartStopLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := copyDir(t, "../examples/quickstart/manifests")
	for i := 0; i < 3; i++ {
		in := newInstance(t)
		in.load(fileSourceApps("file", dir))
		if n := len(in.collections()); n == 0 {
			t.Fatal("no collections")
		}
		in.stop()
	}
}

// TestEmptyMeshApp: a mesh app with no sources still serves the merged collections, empty
// and synced, so consumers need not care whether any source is configured.
func TestEmptyMeshApp(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	in := newInstance(t)
	in.load(map[string]any{"mesh": map[string]any{}})
	defer in.stop()
	if msg := wantCounts(in.collections(), map[string]int{"merged/services": 0, "merged/httproutes": 0}); msg != "" {
		t.Fatal(msg)
	}
}

// TestBadSourceConfigFailsLoad: a source config error is a config load error with context,
// and the running config is left alone.
func TestBadSourceConfigFailsLoad(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := copyDir(t, "../examples/quickstart/manifests")
	in := newInstance(t)
	in.load(fileSourceApps("file", dir))
	defer in.stop()
	tests := []struct {
		name    string
		sources map[string]any
		wantErr string
	}{
		{"no paths", map[string]any{"a": map[string]any{"source": "file"}}, "file source: no paths"},
		{"reserved name", map[string]any{"merged": map[string]any{"source": "file", "paths": []string{dir}}}, `"merged" is reserved`},
		{"slash in name", map[string]any{"a/b": map[string]any{"source": "file", "paths": []string{dir}}}, `must not contain '/'`},
		{"unknown source", map[string]any{"a": map[string]any{"source": "nosuch"}}, "mesh.sources.nosuch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := json.Marshal(map[string]any{
				"admin":   map[string]any{"listen": in.admin},
				"storage": map[string]any{"module": "file_system", "root": in.store},
				"apps":    map[string]any{"mesh": map[string]any{"sources": tc.sources}},
			})
			err := caddy.Load(raw, true)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("load error %v, want one containing %q", err, tc.wantErr)
			}
			// The running config keeps serving; only the admin server's swap, which Caddy
			// does on every load, may refuse a request for a moment.
			eventually(t, 5*time.Second, func() string {
				rows, err := in.tryCollections()
				if err != nil {
					return err.Error()
				}
				if msg := wantCounts(rows, map[string]int{"file/services": 2}); msg != "" {
					return "running config disturbed: " + msg
				}
				return ""
			})
		})
	}
}
