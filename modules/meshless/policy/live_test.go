package policy

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// TestLive changes the inputs between decisions: each step writes to a collection and waits
// for the decision to follow, then checks the next one from there.
func TestLive(t *testing.T) {
	f := newFixture(t, worldMeshlets(), worldPods())
	web := func() *meshlessv1.Meshlet { return worldMeshlets()[0] }
	backend := func() *meshlessv1.Meshlet { return worldMeshlets()[2] }
	backendPod := func(name string, opts ...podOpt) *corev1.Pod {
		return newPod("shop", name, labels("app", "backend"), opts...)
	}
	steps := []struct {
		name   string
		write  func()
		caller string // Pod in shop
		dest   protocol.ServiceID
		want   protocol.Code
	}{
		{"start", func() {}, "web-1", api, protocol.OK},
		{"client entry removed", func() {
			m := web()
			m.Spec.Client = m.Spec.Client[1:] // drops api
			f.meshlets.Upsert(m)
		}, "web-1", api, protocol.NotAllowed},
		{"client entry back", func() { f.meshlets.Upsert(web()) }, "web-1", api, protocol.OK},
		{"only server pod not ready", func() { f.pods.Upsert(backendPod("backend-1", notReady)) }, "web-1", api, protocol.NoEndpoint},
		{"another pod comes up", func() { f.pods.Upsert(backendPod("backend-2")) }, "web-1", api, protocol.OK},
		{"that pod terminates", func() { f.pods.Upsert(backendPod("backend-2", terminating)) }, "web-1", api, protocol.NoEndpoint},
		{"first pod ready again", func() { f.pods.Upsert(backendPod("backend-1")) }, "web-1", api, protocol.OK},
		{"service removed from the server", func() {
			m := backend()
			m.Spec.Server.Services = m.Spec.Server.Services[1:] // drops api
			f.meshlets.Upsert(m)
		}, "web-1", api, protocol.ServiceNotFound},
		{"service back", func() { f.meshlets.Upsert(backend()) }, "web-1", api, protocol.OK},
		{"selector changed away from the pods", func() {
			m := backend()
			m.Spec.Server.Selector = labels("app", "backend-v2")
			f.meshlets.Upsert(m)
		}, "web-1", api, protocol.NoEndpoint},
		{"a pod relabelled to match", func() { f.pods.Upsert(newPod("shop", "backend-3", labels("app", "backend-v2"))) }, "web-1", api, protocol.OK},
		{"destination meshlet deleted", func() { f.meshlets.Delete("shop/backend") }, "web-1", api, protocol.ServiceNotFound},
		{"destination meshlet back", func() { f.meshlets.Upsert(backend()) }, "web-1", api, protocol.OK},
		{"caller pod loses its label", func() { f.pods.Upsert(newPod("shop", "web-1", nil)) }, "web-1", api, protocol.NotAllowed},
		{"caller pod label back", func() { f.pods.Upsert(worldPods()[0]) }, "web-1", api, protocol.OK},
		{"caller meshlet deleted", func() { f.meshlets.Delete("shop/web") }, "web-1", api, protocol.NotAllowed},
		{"caller meshlet back", func() { f.meshlets.Upsert(web()) }, "web-1", api, protocol.OK},
		{"caller pod deleted", func() { f.pods.Delete("shop/web-1") }, "web-1", api, protocol.NotAllowed},
	}
	for _, s := range steps {
		s.write()
		var got protocol.Code
		waitFor(t, s.name, func() bool { got = f.decide("shop", s.caller, s.dest); return got == s.want })
	}
}

// TestLiveEndpoints follows the endpoint set itself through Pod writes.
func TestLiveEndpoints(t *testing.T) {
	f := newFixture(t, worldMeshlets(), worldPods())
	pick := func() []string {
		d, err := f.p.AuthorizeInbound("shop", "web", api)
		if err != nil {
			return nil
		}
		eps, _ := d.Pick(nil, MaxCandidates, nil, nil)
		s := names(eps)
		slices.Sort(s)
		return s
	}
	for _, s := range []struct {
		name  string
		write func()
		want  []string
	}{
		{"start", func() {}, []string{"backend-1"}},
		{"pods added", func() {
			f.pods.Upsert(newPod("shop", "backend-2", labels("app", "backend")), newPod("shop", "backend-3", labels("app", "backend")))
		}, []string{"backend-1", "backend-2", "backend-3"}},
		{"one loses its IP", func() { f.pods.Upsert(newPod("shop", "backend-2", labels("app", "backend"), noIP)) }, []string{"backend-1", "backend-3"}},
		{"one deleted", func() { f.pods.Delete("shop/backend-1") }, []string{"backend-3"}},
	} {
		s.write()
		waitFor(t, s.name, func() bool { return slices.Equal(pick(), s.want) })
	}
}
