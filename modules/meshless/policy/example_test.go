package policy_test

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/policy"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// The three steps of a connection: who calls, may it, and which Pods to try.
func Example() {
	meshlets := collection.NewStatic[*meshlessv1.Meshlet]()
	pods := collection.NewStatic[*corev1.Pod]()
	p := policy.New(meshlets, pods)
	defer p.Stop()

	meshlets.Reset([]*meshlessv1.Meshlet{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
			Spec: meshlessv1.MeshletSpec{Client: []meshlessv1.ServiceRef{{Namespace: "shop", Meshlet: "backend", Service: "api"}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "backend"},
			Spec: meshlessv1.MeshletSpec{Server: &meshlessv1.Server{
				Selector: map[string]string{"app": "backend"},
				Services: []meshlessv1.ServerService{{Name: "api"}},
			}}},
	})
	ready := corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.7", HostIP: "192.168.0.2",
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	pods.Reset([]*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Labels: map[string]string{meshlessv1.LabelMeshlet: "web"}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "backend-1", Labels: map[string]string{"app": "backend"}},
			Spec: corev1.PodSpec{NodeName: "node-b"}, Status: ready},
	})
	if err := p.WaitSynced(context.Background()); err != nil {
		panic(err)
	}

	caller, err := p.Caller("shop", "web-1")
	if err != nil {
		panic(err)
	}
	dest, err := p.Authorize(caller, protocol.ServiceID{Service: "api", Meshlet: "backend", Namespace: "shop"})
	if err != nil {
		panic(err)
	}
	eps, err := dest.Pick(nil, 3, nil, nil)
	fmt.Println(eps[0].Name, eps[0].NodeName, eps[0].HostIP, policy.CodeOf(err))

	_, err = p.Authorize(caller, protocol.ServiceID{Service: "admin", Meshlet: "backend", Namespace: "shop"})
	fmt.Println(policy.CodeOf(err) == protocol.ServiceNotFound, err)
	// Output:
	// backend-1 node-b 192.168.0.2 ok
	// true service not found: service admin.backend.shop: meshlet shop/backend does not serve "admin"
}
