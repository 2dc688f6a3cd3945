package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestParseCollectionPath(t *testing.T) {
	for _, tc := range []struct {
		path       string
		gr         schema.GroupResource
		ns         string
		namespaced bool
		ok         bool
	}{
		{"/api/v1/services", schema.GroupResource{Resource: "services"}, "", true, true},
		{"/api/v1/namespaces/app/pods", schema.GroupResource{Resource: "pods"}, "app", true, true},
		{"/api/v1/namespaces", schema.GroupResource{Resource: "namespaces"}, "", false, true},
		{"/apis/gateway.networking.k8s.io/v1/gatewayclasses", schema.GroupResource{Group: "gateway.networking.k8s.io", Resource: "gatewayclasses"}, "", false, true},
		{"/apis/gateway.networking.k8s.io/v1/namespaces/a/httproutes", schema.GroupResource{Group: "gateway.networking.k8s.io", Resource: "httproutes"}, "a", true, true},
		{"/apis/meshless.caddymesh.io/v1/meshlets", schema.GroupResource{Group: "meshless.caddymesh.io", Resource: "meshlets"}, "", true, true},
		// Not lists: a single object, a namespace object, a subresource, discovery.
		{"/api/v1/namespaces/app", schema.GroupResource{}, "", false, false},
		{"/api/v1/namespaces/app/pods/p1", schema.GroupResource{}, "", false, false},
		{"/apis/gateway.networking.k8s.io/v1/namespaces/a/httproutes/r/status", schema.GroupResource{}, "", false, false},
		{"/apis/gateway.networking.k8s.io/v1", schema.GroupResource{}, "", false, false},
		{"/api", schema.GroupResource{}, "", false, false},
		{"/readyz", schema.GroupResource{}, "", false, false},
	} {
		gr, ns, namespaced, ok := parseCollectionPath(tc.path)
		if ok != tc.ok || (ok && (gr != tc.gr || ns != tc.ns || namespaced != tc.namespaced)) {
			t.Errorf("%s: got %v %q namespaced=%v ok=%v, want %v %q namespaced=%v ok=%v",
				tc.path, gr, ns, namespaced, ok, tc.gr, tc.ns, tc.namespaced, tc.ok)
		}
	}
}
