package integration

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

const statusManifests = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec: {gatewayClassName: caddy, listeners: [{name: http, port: 80, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{name: web, port: 80}]}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: shop}
spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{name: api, port: 80}]}]}
---
apiVersion: v1
kind: Secret
metadata: {name: gw-cert, namespace: shop}
type: kubernetes.io/tls
stringData: {tls.crt: CERT, tls.key: PRIVATE}
`

// runningMesh returns the mesh app of the running config.
func runningMesh(t *testing.T) *mesh.App {
	t.Helper()
	app, err := mesh.FromContext(caddy.ActiveContext())
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func acceptedRoute(ns, name string) mesh.Status {
	return mesh.Status{Kind: model.HTTPRoutes, Namespace: ns, Name: name, Controller: "caddymesh.io/gateway",
		RouteParents: []gatewayv1.RouteParentStatus{{
			ParentRef: gatewayv1.ParentReference{Name: "gw"},
			Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted",
				LastTransitionTime: metav1.NewTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))}},
		}}}
}

// statusRows reads GET /mesh/status (with a query) as "source kind key controller" rows.
func statusRows(t *testing.T, in *instance, query string) []string {
	t.Helper()
	code, body := in.get("/mesh/status" + query)
	if code != 200 {
		t.Fatalf("GET /mesh/status%s: %d %s", query, code, body)
	}
	var resp struct {
		Sources map[string][]struct {
			Kind, Key, Controller string
			Parents               []gatewayv1.RouteParentStatus
		} `json:"sources"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("GET /mesh/status%s: %v: %s", query, err, body)
	}
	var rows []string
	for src, list := range resp.Sources {
		for _, s := range list {
			rows = append(rows, strings.Join([]string{src, s.Kind, s.Key, s.Controller}, " "))
		}
	}
	return rows
}

// TestFileSourceStatusAdminAPI writes status through the mesh app, as the router does, to a
// file source in a real Caddy, and reads it back from GET /mesh/status; the statuses
// survive a reload that keeps the source. TLS Secrets load, and the admin API hides their
// keys.
func TestFileSourceStatusAdminAPI(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "gw.yaml"), statusManifests)
	in := newInstance(t)
	apps := fileSourceApps("file", dir)
	in.load(apps)
	defer in.stop()

	app := runningMesh(t)
	ctx := context.Background()
	for _, name := range []string{"web", "api"} {
		if err := app.WriteStatus(ctx, acceptedRoute("shop", name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.WriteStatus(ctx, acceptedRoute("shop", "nope")); err != nil {
		t.Errorf("a status for an object no source holds is not an error: %v", err)
	}
	want := "file httproutes shop/api caddymesh.io/gateway,file httproutes shop/web caddymesh.io/gateway"
	if got := strings.Join(statusRows(t, in, ""), ","); got != want {
		t.Fatalf("statuses %q, want %q", got, want)
	}
	if got := strings.Join(statusRows(t, in, "?kind=httproutes&key=shop/web"), ","); got != "file httproutes shop/web caddymesh.io/gateway" {
		t.Errorf("one route's status: %q", got)
	}
	if got := statusRows(t, in, "?kind=gateways"); len(got) != 0 {
		t.Errorf("gateways: %q", got)
	}
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"POST", "/mesh/status", 405},
		{"GET", "/mesh/status/file", 404},
	} {
		if code, body := in.do(tc.method, tc.path); code != tc.code {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, code, tc.code, body)
		}
	}

	// The certificate shows, the key does not.
	code, body := in.get("/mesh/collections/file/tlssecrets?key=shop/gw-cert")
	if code != 200 || !strings.Contains(string(body), `"tls.crt": "Q0VSVA=="`) || strings.Contains(string(body), "UFJJVkFURQ==") {
		t.Errorf("GET the TLS secret: %d %s", code, body)
	}

	// A reload that keeps the file source keeps its statuses.
	apps["mesh"].(map[string]any)["sources"].(map[string]any)["other"] =
		map[string]any{"source": "file", "paths": []string{t.TempDir()}}
	in.load(apps)
	if got := strings.Join(statusRows(t, in, "?kind=httproutes"), ","); !strings.Contains(got, want) {
		t.Errorf("after a reload: statuses %q, want %q", got, want)
	}

	// A route removed from the files takes its status with it.
	writeFile(t, filepath.Join(dir, "gw.yaml"), strings.SplitN(statusManifests, "---\n", 3)[0]+"---\n"+strings.SplitN(statusManifests, "---\n", 3)[1])
	eventually(t, 5*time.Second, func() string {
		if got := strings.Join(statusRows(t, in, ""), ","); got != "file httproutes shop/web caddymesh.io/gateway" {
			return "statuses " + got
		}
		return ""
	})
}

// TestKubernetesSourceWriteStatusInCaddy: the kubernetes source writes status through the
// mesh app in a real Caddy, also after a reload that hands the pooled source to a new
// config, and only for objects of its namespaces.
func TestKubernetesSourceWriteStatusInCaddy(t *testing.T) {
	cluster := sharedCluster(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx := context.Background()
	cs, closeIdle := adminClientset(t, cluster)
	defer closeIdle()
	cfg, dialer := cluster.ConfigWithDialer()
	defer dialer.CloseAll()
	gw, err := gatewayclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ns := "status-source"
	for _, name := range []string{ns, ns + "-other"} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := gw.GatewayV1().HTTPRoutes(name).Create(ctx, &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "web"},
			Spec:       gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	in := newInstance(t)
	apps := map[string]any{"mesh": map[string]any{"sources": map[string]any{
		"cluster": map[string]any{"source": "kubernetes", "kubeconfig": writeKubeconfig(t, cluster),
			"namespaces": []string{ns}, "kinds": []string{"httproutes"}},
	}}}
	in.load(apps)
	defer in.stop()
	eventually(t, 30*time.Second, func() string {
		return wantCounts(in.collections(), map[string]int{"cluster/httproutes": 1})
	})

	// After a reload that keeps the source, through the new config's app.
	apps["mesh"].(map[string]any)["sources"].(map[string]any)["files"] =
		map[string]any{"source": "file", "paths": []string{t.TempDir()}}
	in.load(apps)
	app := runningMesh(t)
	for _, where := range []string{ns, ns + "-other"} {
		if err := app.WriteStatus(ctx, acceptedRoute(where, "web")); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
	}
	route, err := gw.GatewayV1().HTTPRoutes(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(route.Status.Parents) != 1 || route.Status.Parents[0].ControllerName != "caddymesh.io/gateway" {
		t.Errorf("route status %+v", route.Status)
	}
	managed := false
	for _, m := range route.ManagedFields {
		managed = managed || (m.Manager == "caddymesh" && m.Subresource == "status")
	}
	if !managed {
		t.Errorf("no status fields managed by caddymesh: %+v", route.ManagedFields)
	}
	other, err := gw.GatewayV1().HTTPRoutes(ns+"-other").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(other.Status.Parents) != 0 {
		t.Errorf("a route outside the source's namespaces was written: %+v", other.Status)
	}
	// The kubernetes source keeps no statuses of its own to list.
	if rows := statusRows(t, in, ""); len(rows) != 0 {
		t.Errorf("GET /mesh/status: %q", rows)
	}
}
