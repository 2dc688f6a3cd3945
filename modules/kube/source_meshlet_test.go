package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// TestSourceSkipsUnusableMeshlet: a Meshlet that the CRD schema accepts but Validate does
// not (a selector key that is not a label key) is skipped, logged and counted, while the
// others flow; a later fix clears the error, and a good Meshlet that turns bad keeps its
// last good version.
func TestSourceSkipsUnusableMeshlet(t *testing.T) {
	c := adminClients(t)
	ns := newNamespace(t)
	bad := serverMeshlet(ns, "bad", map[string]string{"not a label key!": "x"})
	if errs := bad.Validate(); len(errs) == 0 {
		t.Fatal("test premise: the bad meshlet must fail Validate")
	}
	applyMeshlet(t, c, meshletGVR, bad) // accepted by the API server
	applyMeshlet(t, c, meshletGVR, serverMeshlet(ns, "good", map[string]string{"app": "good"}))

	l := startTestLoader(t, loaderConfig{namespaces: []string{ns}, kinds: []string{model.Meshlets}})
	meshlets := typed[*meshlessv1.Meshlet](t, l, model.Meshlets)
	eventually(t, 30*time.Second, func() string {
		if msg := wantKeys(meshlets, ns+"/good")(); msg != "" {
			return msg
		}
		if err := meshlets.LastError(); err == nil || !strings.Contains(err.Error(), ns+"/bad skipped") ||
			!strings.Contains(err.Error(), "spec.server.selector") {
			return "want the bad meshlet's error, got " + errString(err)
		}
		return ""
	})
	if n := l.rejected()[model.Meshlets]; n != 1 {
		t.Errorf("rejected count %d, want 1", n)
	}

	// The fix clears the error and the meshlet arrives.
	applyMeshlet(t, c, meshletGVR, serverMeshlet(ns, "bad", map[string]string{"app": "fixed"}))
	eventually(t, 10*time.Second, func() string {
		if msg := wantKeys(meshlets, ns+"/good", ns+"/bad")(); msg != "" {
			return msg
		}
		if err := meshlets.LastError(); err != nil {
			return "error not cleared: " + err.Error()
		}
		return ""
	})

	// Breaking a good meshlet keeps its last good version serving.
	applyMeshlet(t, c, meshletGVR, serverMeshlet(ns, "good", map[string]string{"bad key!": "y"}))
	eventually(t, 10*time.Second, func() string {
		if err := meshlets.LastError(); err == nil || !strings.Contains(err.Error(), ns+"/good skipped") {
			return "want the broken meshlet's error, got " + errString(err)
		}
		return ""
	})
	if m, ok := meshlets.Get(ns + "/good"); !ok || m.Spec.Server.Selector["app"] != "good" {
		t.Errorf("last good version not kept: %+v", m)
	}
	if n := l.rejected()[model.Meshlets]; n != 2 {
		t.Errorf("rejected count %d, want 2", n)
	}
	// The count is exported to Prometheus, by source and kind.
	trackLoader("meshtest", l) // Destruct untracks it
	if got := rejectedMetric(t, "meshtest", model.Meshlets); got != 2 {
		t.Errorf("caddy_mesh_kubernetes_rejected_objects_total = %v, want 2", got)
	}
	// Deleting it removes it and its error.
	if err := c.dyn.Resource(meshletGVR).Namespace(ns).Delete(context.Background(), "good", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		if msg := wantKeys(meshlets, ns+"/bad")(); msg != "" {
			return msg
		}
		if err := meshlets.LastError(); err != nil {
			return "error not cleared: " + err.Error()
		}
		return ""
	})
}

// TestSourceMeshletGroups: Meshlets come from both API groups; when both hold the same
// name the canonical group wins, and the compatibility group's object takes over when the
// canonical one goes.
func TestSourceMeshletGroups(t *testing.T) {
	c := adminClients(t)
	ns := newNamespace(t)
	applyMeshlet(t, c, compatMeshletGVR, serverMeshlet(ns, "both", map[string]string{"from": "compat"}))
	applyMeshlet(t, c, compatMeshletGVR, serverMeshlet(ns, "old", map[string]string{"from": "compat"}))
	applyMeshlet(t, c, meshletGVR, serverMeshlet(ns, "both", map[string]string{"from": "canonical"}))

	l := startTestLoader(t, loaderConfig{namespaces: []string{ns}, kinds: []string{model.Meshlets}})
	meshlets := typed[*meshlessv1.Meshlet](t, l, model.Meshlets)
	from := func(key string) string {
		m, ok := meshlets.Get(key)
		if !ok {
			return "<none>"
		}
		return m.Spec.Server.Selector["from"]
	}
	eventually(t, 30*time.Second, func() string {
		if msg := wantKeys(meshlets, ns+"/both", ns+"/old")(); msg != "" {
			return msg
		}
		if got := from(ns + "/both"); got != "canonical" {
			return "both is from " + got
		}
		return ""
	})
	if err := c.dyn.Resource(meshletGVR).Namespace(ns).Delete(context.Background(), "both", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		if got := from(ns + "/both"); got != "compat" {
			return "after deleting the canonical meshlet, both is from " + got
		}
		return ""
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// rejectedMetric gathers caddy_mesh_kubernetes_rejected_objects_total{source,kind}.
func rejectedMetric(t *testing.T, source, kind string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(metricsCollector{}); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "caddy_mesh_kubernetes_rejected_objects_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["source"] == source && labels["kind"] == kind {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no caddy_mesh_kubernetes_rejected_objects_total{source=%q,kind=%q}", source, kind)
	return 0
}
