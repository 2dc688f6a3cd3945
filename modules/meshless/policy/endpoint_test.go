package policy

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

// TestEndpoints checks which Pods are endpoints of a meshlet: one Pod per row, alone with
// a Pod that always qualifies.
func TestEndpoints(t *testing.T) {
	sel := labels("app", "api", "tier", "backend")
	tests := []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"ready and selected", newPod("shop", "p", labels("app", "api", "tier", "backend", "extra", "x")), true},
		{"not ready", newPod("shop", "p", sel, notReady), false},
		{"no Ready condition", newPod("shop", "p", sel, noReadyCondition), false},
		{"pending", newPod("shop", "p", sel, pending), false},
		{"terminating while ready", newPod("shop", "p", sel, terminating), false},
		{"no pod IP", newPod("shop", "p", sel, noIP), false},
		{"one selector label differs", newPod("shop", "p", labels("app", "api", "tier", "frontend")), false},
		{"one selector label missing", newPod("shop", "p", labels("app", "api")), false},
		{"no labels", newPod("shop", "p", nil), false},
		{"same labels in another namespace", newPod("other", "p", sel), false},
	}
	caller := newMeshlet("shop", "web", calls(api))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := newMeshlet("shop", "backend", serves(sel, svc("api")))
			always := newPod("shop", "always", sel)
			f := newFixture(t, []*meshlessv1.Meshlet{caller, backend}, []*corev1.Pod{always, tt.pod})
			d, err := f.p.AuthorizeInbound("shop", "web", api)
			if err != nil {
				t.Fatal(err)
			}
			eps, err := d.Pick(nil, MaxCandidates, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Contains(names(eps), "p")
			if got != tt.want {
				t.Errorf("pod is an endpoint: %v, want %v (endpoints %v)", got, tt.want, names(eps))
			}
			_, err = d.Endpoint(tt.pod.Namespace, "p")
			if (err == nil) != tt.want {
				t.Errorf("Destination.Endpoint: %v, want found=%v", err, tt.want)
			}
		})
	}
}

// TestEndpointFields checks what an Endpoint carries for the agent.
func TestEndpointFields(t *testing.T) {
	f := newFixture(t,
		[]*meshlessv1.Meshlet{newMeshlet("shop", "web", calls(api)), newMeshlet("shop", "backend", serves(labels("app", "b"), svc("api")))},
		[]*corev1.Pod{newPod("shop", "b-1", labels("app", "b", meshlessv1.LabelVersion, "v2"), onNode("node-b", "192.168.0.2"),
			func(p *corev1.Pod) { p.Status.PodIP = "10.1.2.3" })})
	d, err := f.p.AuthorizeInbound("shop", "web", api)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := d.Pick(nil, 1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Endpoint{Namespace: "shop", Name: "b-1", Key: "shop/b-1", PodIP: "10.1.2.3", HostIP: "192.168.0.2", NodeName: "node-b", Version: "v2"}
	if len(eps) != 1 || eps[0] != want {
		t.Errorf("Pick = %+v, want [%+v]", eps, want)
	}
}
