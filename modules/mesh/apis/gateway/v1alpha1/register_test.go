package v1alpha1

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

func TestSchemeDecodes(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	obj, gvk, err := decoder.Decode([]byte(`apiVersion: gateway.caddymesh.io/v1alpha1
kind: HTTPFilter
metadata: {namespace: shop, name: add-header}
spec:
  handlers:
  - handler: headers
    response: {set: {X-Mesh: [caddymesh]}}
`), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *gvk != GroupVersionKind() {
		t.Errorf("decoded kind %v, want %v", gvk, GroupVersionKind())
	}
	f, ok := obj.(*HTTPFilter)
	if !ok {
		t.Fatalf("decoded %T, want *HTTPFilter", obj)
	}
	if errs := f.Validate(); len(errs) != 0 {
		t.Errorf("Validate: %v", errs.ToAggregate())
	}
	if name, err := HandlerName(f.Spec.Handlers[0]); name != "headers" || err != nil {
		t.Errorf("handler %q, %v", name, err)
	}
	if c := f.DeepCopy(); string(c.Spec.Handlers[0].Raw) != string(f.Spec.Handlers[0].Raw) {
		t.Error("DeepCopy lost the handler")
	}
}

func TestCoordinates(t *testing.T) {
	if got := GroupVersionKind().String(); got != "gateway.caddymesh.io/v1alpha1, Kind=HTTPFilter" {
		t.Errorf("GroupVersionKind() = %s", got)
	}
	if got := GroupResource().String(); got != "httpfilters.gateway.caddymesh.io" {
		t.Errorf("GroupResource() = %s", got)
	}
}
