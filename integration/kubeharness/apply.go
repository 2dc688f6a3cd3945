package kubeharness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/connrotation"
)

// Applier server-side applies objects of any kind the API server serves, as `kubectl apply
// --server-side -f` does, but with strict field validation: an unknown or duplicated field
// is an error, not a warning, and a namespaced object must name its namespace.
type Applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	dialer *connrotation.Dialer
}

// NewApplier returns an Applier for the admin user. Close it when done.
func (c *Cluster) NewApplier() (*Applier, error) {
	cfg, dialer := c.ConfigWithDialer()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	return &Applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)), dialer: dialer}, nil
}

// Close closes the Applier's connections, so that their reader goroutines end.
func (a *Applier) Close() { a.dialer.CloseAll() }

// Apply applies obj with the field manager "kubeharness", forcing conflicts. dryRun
// validates without storing.
func (a *Applier) Apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	gvk := obj.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) { // a CRD installed after discovery was cached
		a.mapper.Reset()
		m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", gvk, err)
	}
	ri := dynamic.ResourceInterface(a.dyn.Resource(m.Resource))
	switch namespaced := m.Scope.Name() == meta.RESTScopeNameNamespace; {
	case namespaced && obj.GetNamespace() == "":
		// `kubectl apply -f` would put it in whatever namespace the user is in.
		return nil, errors.New("namespaced, but names no namespace")
	case namespaced:
		ri = a.dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
	case obj.GetNamespace() != "":
		return nil, errors.New("cluster-scoped, but names a namespace")
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: "kubeharness", Force: &force, FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
}

// ApplyFile applies every object of a YAML file and returns them as applied.
func (a *Applier) ApplyFile(ctx context.Context, path string) ([]*unstructured.Unstructured, error) {
	objs, err := ReadObjects(path)
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, obj := range objs {
		applied, err := a.Apply(ctx, obj, false)
		if err != nil {
			return nil, fmt.Errorf("%s: applying %s %s/%s: %w", path, obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
		out = append(out, applied)
	}
	return out, nil
}

// ApplyFile applies every object of a YAML file with a short-lived Applier.
func (c *Cluster) ApplyFile(ctx context.Context, path string) ([]*unstructured.Unstructured, error) {
	a, err := c.NewApplier()
	if err != nil {
		return nil, err
	}
	defer a.Close()
	return a.ApplyFile(ctx, path)
}
