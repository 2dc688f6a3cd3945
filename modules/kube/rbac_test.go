package kube

import (
	"context"
	corev1 "k8s.io/api/core/v1"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// TestSourceWithShippedRBAC runs the source as the gateway's service account, bound only
// to the least-privilege ClusterRole and Role shipped in examples/kubernetes: it syncs
// every kind in the namespace the Role covers, and is refused (visibly) elsewhere.
func TestSourceWithShippedRBAC(t *testing.T) {
	ctx := context.Background()
	for _, f := range []string{"namespace.yaml", "rbac.yaml"} {
		if _, err := cluster.ApplyFile(ctx, filepath.Join("..", "..", "examples", "kubernetes", f)); err != nil {
			t.Fatal(err)
		}
	}
	token, err := cluster.ServiceAccountToken(ctx, "caddymesh-system", "caddymesh-gateway")
	if err != nil {
		t.Fatal(err)
	}
	c := adminClients(t)
	createService(t, c, "caddymesh-demo", "rbac-"+strings.ToLower(t.Name()[:8]))

	l := startTestLoader(t, loaderConfig{rest: cluster.ConfigWithToken(token), namespaces: []string{"caddymesh-demo"}})
	eventually(t, 30*time.Second, func() string {
		for _, kind := range l.kinds {
			info := l.stores[kind].info()
			if !info.HasSynced() || info.LastError() != nil {
				return kind + " not synced cleanly: " + errString(info.LastError())
			}
		}
		return ""
	})
	if typed[*corev1.Service](t, l, model.Services).Len() == 0 {
		t.Error("no services read through the Role")
	}

	// Outside the Role's namespace the API server refuses, and the collection says so.
	other := newNamespace(t)
	denied := startTestLoader(t, loaderConfig{rest: cluster.ConfigWithToken(token), namespaces: []string{other}, kinds: []string{model.Pods}})
	eventually(t, 30*time.Second, func() string {
		info := denied.stores[model.Pods].info()
		if info.HasSynced() {
			return "pods synced in a namespace the Role does not cover"
		}
		if err := info.LastError(); err == nil || !strings.Contains(err.Error(), "forbidden") {
			return "want a forbidden error, got " + errString(err)
		}
		return ""
	})
}
