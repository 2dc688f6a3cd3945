package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestParseCollectionPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		gr   schema.GroupResource
		ns   string
		ok   bool
	}{
		{"/api/v1/services", schema.GroupResource{Resource: "services"}, "", true},
		{"/api/v1/namespaces/app/pods", schema.GroupResource{Resource: "pods"}, "app", true},
		{"/api/v1/namespaces", schema.GroupResource{Resource: "namespaces"}, "", true},
		{"/apis/gateway.networking.k8s.io/v1/gatewayclasses", schema.GroupResource{Group: "gateway.networking.k8s.io", Resource: "gatewayclasses"}, "", true},
		{"/apis/gateway.networking.k8s.io/v1/namespaces/a/httproutes", schema.GroupResource{Group: "gateway.networking.k8s.io", Resource: "httproutes"}, "a", true},
		{"/apis/meshless.caddymesh.io/v1/meshlets", schema.GroupResource{Group: "meshless.caddymesh.io", Resource: "meshlets"}, "", true},
		// Not lists: a single object, a namespace object, a subresource, discovery.
		{"/api/v1/namespaces/app", schema.GroupResource{}, "", false},
		{"/api/v1/namespaces/app/pods/p1", schema.GroupResource{}, "", false},
		{"/apis/gateway.networking.k8s.io/v1/namespaces/a/httproutes/r/status", schema.GroupResource{}, "", false},
		{"/apis/gateway.networking.k8s.io/v1", schema.GroupResource{}, "", false},
		{"/api", schema.GroupResource{}, "", false},
		{"/readyz", schema.GroupResource{}, "", false},
	} {
		gr, ns, ok := parseCollectionPath(tc.path)
		if ok != tc.ok || (ok && (gr != tc.gr || ns != tc.ns)) {
			t.Errorf("%s: got %v %q ok=%v, want %v %q ok=%v", tc.path, gr, ns, ok, tc.gr, tc.ns, tc.ok)
		}
	}
}
