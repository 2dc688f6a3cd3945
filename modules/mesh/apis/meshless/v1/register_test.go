package v1

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

func TestSchemeDecodesBothGroups(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := AddCompatToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	for _, gv := range []string{GroupVersion.String(), CompatGroupVersion.String()} {
		t.Run(gv, func(t *testing.T) {
			doc := []byte(`apiVersion: ` + gv + `
kind: Meshlet
metadata: {namespace: shop, name: cart}
spec:
  client: [{namespace: shop, meshlet: stock, service: grpc}]
  server:
    selector: {app: cart}
    services: [{name: http, maxConn: 10, idleTimeout: 1m30s}]
    canary: [{version: v1, weight: 100}]
`)
			obj, gvk, err := decoder.Decode(doc, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if gvk.GroupVersion().String() != gv || gvk.Kind != Kind {
				t.Errorf("decoded kind %v, want %s %s", gvk, gv, Kind)
			}
			m, ok := obj.(*Meshlet)
			if !ok {
				t.Fatalf("decoded %T, want *Meshlet", obj)
			}
			if errs := m.Validate(); len(errs) != 0 {
				t.Errorf("Validate: %v", errs.ToAggregate())
			}
			svc := m.Spec.Server.Services[0]
			if *svc.MaxConn != 10 || svc.IdleTimeout.Duration.String() != "1m30s" {
				t.Errorf("service decoded as %+v", svc)
			}
		})
	}
}

func TestGroupVersionKind(t *testing.T) {
	if got := GroupVersionKind().String(); got != "meshless.caddymesh.io/v1, Kind=Meshlet" {
		t.Errorf("GroupVersionKind() = %s", got)
	}
	if got := GroupResource().String(); got != "meshlets.meshless.caddymesh.io" {
		t.Errorf("GroupResource() = %s", got)
	}
}
