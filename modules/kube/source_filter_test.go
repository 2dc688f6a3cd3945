package kube

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// TestSourceNodeAndLabelFilters: a node agent's view, only the Pods of its node that
// belong to a meshlet, through the API server's field and label selectors.
func TestSourceNodeAndLabelFilters(t *testing.T) {
	c := adminClients(t)
	ns := newNamespace(t)
	member := map[string]string{meshlessv1.LabelMeshlet: "web"}
	createPod(t, c, readyPod(ns, "a-member", "node-a", member))
	createPod(t, c, readyPod(ns, "a-other", "node-a", nil))
	createPod(t, c, readyPod(ns, "b-member", "node-b", member))

	for _, tc := range []struct {
		name string
		cfg  loaderConfig
		want []string
	}{
		{"all", loaderConfig{}, []string{"a-member", "a-other", "b-member"}},
		{"node", loaderConfig{node: "node-a"}, []string{"a-member", "a-other"}},
		{"label", loaderConfig{labelSelectors: map[string]string{model.Pods: meshlessv1.LabelMeshlet}}, []string{"a-member", "b-member"}},
		{"node and label", loaderConfig{node: "node-a", labelSelectors: map[string]string{model.Pods: meshlessv1.LabelMeshlet}}, []string{"a-member"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.namespaces = []string{ns}
			tc.cfg.kinds = []string{model.Pods}
			l := startTestLoader(t, tc.cfg)
			want := make([]string, len(tc.want))
			for i, n := range tc.want {
				want[i] = ns + "/" + n
			}
			eventually(t, 30*time.Second, wantKeys(typed[*corev1.Pod](t, l, model.Pods), want...))
		})
	}
}

// TestSourceNamespaces: namespaced kinds come only from the listed namespaces, one
// informer each, into one collection.
func TestSourceNamespaces(t *testing.T) {
	c := adminClients(t)
	ns1, ns2, ns3 := newNamespace(t), newNamespace(t), newNamespace(t)
	for _, ns := range []string{ns1, ns2, ns3} {
		createPod(t, c, readyPod(ns, "p", "node-a", nil))
	}
	l := startTestLoader(t, loaderConfig{namespaces: []string{ns1, ns3}, kinds: []string{model.Pods}})
	eventually(t, 30*time.Second, wantKeys(typed[*corev1.Pod](t, l, model.Pods), ns1+"/p", ns3+"/p"))
}
