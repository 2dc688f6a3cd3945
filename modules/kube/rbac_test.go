package kube

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// TestSourceWithShippedRBAC runs the source as the gateway's service account, bound only
// to the least-privilege ClusterRoles and Roles shipped in examples/kubernetes: it syncs
// every kind in the namespace the Roles cover (TLS Secrets included), writes route status,
// and is refused (visibly) elsewhere; the agent's account is refused Secrets.
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

	// The gateway reads TLS Secrets, and writes route status, with its own rights.
	cert, route := randomName("rbac-cert"), randomName("rbac-route")
	if _, err := c.core.CoreV1().Secrets("caddymesh-demo").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "caddymesh-demo", Name: cert}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: []byte("C"), corev1.TLSPrivateKeyKey: []byte("K")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.gateway.GatewayV1().HTTPRoutes("caddymesh-demo").Create(ctx, &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "caddymesh-demo", Name: route},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		if _, ok := typed[*corev1.Secret](t, l, model.TLSSecrets).Get("caddymesh-demo/" + cert); !ok {
			return "TLS secret not read through the Role"
		}
		if _, ok := typed[*gatewayv1.HTTPRoute](t, l, model.HTTPRoutes).Get("caddymesh-demo/" + route); !ok {
			return "route not read through the Role"
		}
		return ""
	})
	if err := (&Source{loader: l}).WriteStatus(ctx, mesh.Status{Kind: model.HTTPRoutes, Namespace: "caddymesh-demo", Name: route,
		Controller: "caddymesh.io/gateway", RouteParents: []gatewayv1.RouteParentStatus{{ParentRef: gatewayv1.ParentReference{Name: "gw"},
			Conditions: []metav1.Condition{condition("Accepted", metav1.ConditionTrue, "Accepted", "")}}}}); err != nil {
		t.Errorf("writing a route's status with the gateway's rights: %v", err)
	}

	// The agent may not read Secrets: its tlssecrets collection says so.
	agentToken, err := cluster.ServiceAccountToken(ctx, "caddymesh-system", "caddymesh-agent")
	if err != nil {
		t.Fatal(err)
	}
	agent := startTestLoader(t, loaderConfig{rest: cluster.ConfigWithToken(agentToken), namespaces: []string{"caddymesh-demo"}, kinds: []string{model.TLSSecrets}})
	eventually(t, 30*time.Second, func() string {
		if err := agent.stores[model.TLSSecrets].info().LastError(); err == nil || !strings.Contains(err.Error(), "forbidden") {
			return "want the agent refused Secrets, got " + errString(err)
		}
		return ""
	})

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
