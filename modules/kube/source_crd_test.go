package kube

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// TestSourceMissingCRD removes the TLSRoute CRD: by default the source leaves the kind out
// (synced and empty, no error), but a source that lists the kind watches it anyway, shows
// the API server's error, and syncs once the CRD is installed.
func TestSourceMissingCRD(t *testing.T) {
	ctx := context.Background()
	c := adminClients(t)
	ns := newNamespace(t)
	crds := c.dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	const crd = "tlsroutes.gateway.networking.k8s.io"
	if err := crds.Delete(ctx, crd, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	reinstalled := false
	defer func() {
		if !reinstalled { // leave the cluster whole for the other tests
			_ = cluster.InstallCRDs(ctx)
		}
	}()
	eventually(t, 60*time.Second, func() string {
		_, err := crds.Get(ctx, crd, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return "CRD still there: " + errString(err)
		}
		list, err := c.core.Discovery().ServerResourcesForGroupVersion(gatewayGV.String())
		if err != nil {
			return err.Error()
		}
		for _, r := range list.APIResources {
			if r.Name == "tlsroutes" {
				return "tlsroutes still served"
			}
		}
		return ""
	})

	byDefault := startTestLoader(t, loaderConfig{namespaces: []string{ns}})
	explicit := startTestLoader(t, loaderConfig{namespaces: []string{ns}, kinds: []string{model.TLSRoutes}})
	eventually(t, 30*time.Second, func() string {
		for _, kind := range byDefault.kinds {
			info := byDefault.stores[kind].info()
			if !info.HasSynced() || info.LastError() != nil {
				return "by default, " + kind + " not synced cleanly: " + errString(info.LastError())
			}
		}
		info := explicit.stores[model.TLSRoutes].info()
		if info.HasSynced() {
			return "tlsroutes synced without a CRD"
		}
		if info.LastError() == nil {
			return "listed tlsroutes show no error while the CRD is missing"
		}
		return ""
	})

	if err := cluster.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	reinstalled = true
	if _, err := c.gateway.GatewayV1().TLSRoutes(ns).Create(ctx, &gatewayv1.TLSRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "late"},
		Spec: gatewayv1.TLSRouteSpec{
			Hostnames: []gatewayv1.Hostname{"late.example.com"},
			Rules: []gatewayv1.TLSRouteRule{{BackendRefs: []gatewayv1.BackendRef{{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: ptr.To[gatewayv1.PortNumber](443)}}}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tls := typed[*gatewayv1.TLSRoute](t, explicit, model.TLSRoutes)
	eventually(t, 60*time.Second, wantKeys(tls, ns+"/late"))
	eventually(t, 10*time.Second, func() string {
		if err := tls.LastError(); err != nil {
			return "error not cleared after the CRD came: " + err.Error()
		}
		return ""
	})
}
