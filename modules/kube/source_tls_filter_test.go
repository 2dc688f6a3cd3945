package kube

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

var httpFilterGVR = gatewayv1alpha1.GroupVersionResource()

// applyHTTPFilter creates or replaces an HTTPFilter through the dynamic client, with
// handlers given as JSON, so that a test can write what the CRD accepts but Validate does
// not.
func applyHTTPFilter(t *testing.T, c clients, ns, name string, handlers ...string) {
	t.Helper()
	var items []any
	for _, h := range handlers {
		var v any
		if err := json.Unmarshal([]byte(h), &v); err != nil {
			t.Fatal(err)
		}
		items = append(items, v)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gatewayv1alpha1.GroupVersion.String(),
		"kind":       gatewayv1alpha1.Kind,
		"metadata":   map[string]any{"namespace": ns, "name": name},
		"spec":       map[string]any{"handlers": items},
	}}
	if _, err := c.dyn.Resource(httpFilterGVR).Namespace(ns).Apply(context.Background(), name, u,
		metav1.ApplyOptions{FieldManager: "test", Force: true}); err != nil {
		t.Fatalf("applying HTTPFilter %s/%s: %v", ns, name, err)
	}
}

// TestSourceTLSSecretsAndHTTPFilters: only TLS Secrets reach tlssecrets (with their data,
// without managedFields); HTTPFilters arrive with their handlers as written, and one whose
// handler names no module is skipped with its reason.
func TestSourceTLSSecretsAndHTTPFilters(t *testing.T) {
	ctx := context.Background()
	c := adminClients(t)
	ns := newNamespace(t)
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "opaque"}, Type: corev1.SecretTypeOpaque,
			StringData: map[string]string{"password": "hunter2"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cert"}, Type: corev1.SecretTypeTLS,
			StringData: map[string]string{corev1.TLSCertKey: "CERT", corev1.TLSPrivateKeyKey: "KEY"}},
	} {
		if _, err := c.core.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	applyHTTPFilter(t, c, ns, "headers", `{"handler": "headers", "response": {"set": {"X-Mesh": ["caddymesh"]}}}`)
	applyHTTPFilter(t, c, ns, "nameless", `{"response": {}}`) // the CRD keeps items as written

	l := startTestLoader(t, loaderConfig{namespaces: []string{ns}})
	secrets := typed[*corev1.Secret](t, l, model.TLSSecrets)
	filters := typed[*gatewayv1alpha1.HTTPFilter](t, l, model.HTTPFilters)
	eventually(t, 30*time.Second, wantKeys(secrets, ns+"/cert"))
	eventually(t, 30*time.Second, wantKeys(filters, ns+"/headers"))

	cert, _ := secrets.Get(ns + "/cert")
	if string(cert.Data[corev1.TLSCertKey]) != "CERT" || string(cert.Data[corev1.TLSPrivateKeyKey]) != "KEY" || cert.ManagedFields != nil {
		t.Errorf("secret kept as %+v", cert)
	}
	f, _ := filters.Get(ns + "/headers")
	if name, err := gatewayv1alpha1.HandlerName(f.Spec.Handlers[0]); name != "headers" || err != nil || f.ManagedFields != nil {
		t.Errorf("filter handler %q (%v), managedFields %d", name, err, len(f.ManagedFields))
	}
	if err := filters.LastError(); err == nil || !strings.Contains(err.Error(), ns+"/nameless skipped") ||
		!strings.Contains(err.Error(), `must have a "handler" key`) {
		t.Errorf("want the nameless filter's error, got %v", errString(err))
	}
	if err := secrets.LastError(); err != nil {
		t.Errorf("tlssecrets: %v", err)
	}

	// A TLS Secret turned into no Secret at all goes; one that is created arrives.
	if err := c.core.CoreV1().Secrets(ns).Delete(ctx, "cert", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.core.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cert2"},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{corev1.TLSCertKey: []byte("C"), corev1.TLSPrivateKeyKey: []byte("K")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, wantKeys(secrets, ns+"/cert2"))
}

// TestSourceMissingHTTPFilterCRD: without the HTTPFilter CRD, a source watching every kind
// leaves httpfilters out (synced, empty, no error), as it does for any missing CRD.
func TestSourceMissingHTTPFilterCRD(t *testing.T) {
	ctx := context.Background()
	c := adminClients(t)
	ns := newNamespace(t)
	crds := c.dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	crd := httpFilterGVR.GroupResource().String()
	if err := crds.Delete(ctx, crd, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.InstallCRDs(context.Background()); err != nil {
			t.Errorf("reinstalling the CRDs: %v", err)
		}
	})
	eventually(t, 60*time.Second, func() string {
		if _, err := crds.Get(ctx, crd, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return "CRD still there: " + errString(err)
		}
		if _, err := c.core.Discovery().ServerResourcesForGroupVersion(gatewayv1alpha1.GroupVersion.String()); !apierrors.IsNotFound(err) {
			return "group still served: " + errString(err)
		}
		return ""
	})

	l := startTestLoader(t, loaderConfig{namespaces: []string{ns}})
	eventually(t, 30*time.Second, func() string {
		for _, kind := range l.kinds {
			info := l.stores[kind].info()
			if !info.HasSynced() || info.LastError() != nil {
				return kind + " not synced cleanly: " + errString(info.LastError())
			}
		}
		return ""
	})
	if n := typed[*gatewayv1alpha1.HTTPFilter](t, l, model.HTTPFilters).Len(); n != 0 {
		t.Errorf("%d httpfilters without a CRD", n)
	}
}
