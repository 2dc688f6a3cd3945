package policy

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// fixture is a Policy over real Static collections that a test writes to.
type fixture struct {
	meshlets *collection.Static[*meshlessv1.Meshlet]
	pods     *collection.Static[*corev1.Pod]
	p        *Policy
}

// newFixture loads the objects, waits for the Policy to sync and stops it when the test
// ends.
func newFixture(t testing.TB, meshlets []*meshlessv1.Meshlet, pods []*corev1.Pod) *fixture {
	t.Helper()
	f := &fixture{
		meshlets: collection.NewStatic[*meshlessv1.Meshlet](),
		pods:     collection.NewStatic[*corev1.Pod](),
	}
	f.p = New(f.meshlets, f.pods)
	t.Cleanup(f.p.Stop)
	f.meshlets.Reset(meshlets)
	f.pods.Reset(pods)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.p.WaitSynced(ctx); err != nil {
		t.Fatalf("policy did not sync: %v", err)
	}
	if !f.p.HasSynced() {
		t.Fatal("WaitSynced returned but HasSynced is false")
	}
	return f
}

// waitFor polls cond until it holds: derived views follow their inputs asynchronously.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// sid builds a service ID.
func sid(service, meshlet, namespace string) protocol.ServiceID {
	return protocol.ServiceID{Service: service, Meshlet: meshlet, Namespace: namespace}
}

// meshletOpt edits a Meshlet under construction.
type meshletOpt func(*meshlessv1.Meshlet)

func newMeshlet(namespace, name string, opts ...meshletOpt) *meshlessv1.Meshlet {
	m := &meshlessv1.Meshlet{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	for _, o := range opts {
		o(m)
	}
	return m
}

// calls lets the meshlet call the services.
func calls(ids ...protocol.ServiceID) meshletOpt {
	return func(m *meshlessv1.Meshlet) {
		for _, id := range ids {
			m.Spec.Client = append(m.Spec.Client, meshlessv1.ServiceRef{Namespace: id.Namespace, Meshlet: id.Meshlet, Service: id.Service})
		}
	}
}

// serves makes the meshlet serve the services on the Pods the selector matches.
func serves(selector map[string]string, services ...meshlessv1.ServerService) meshletOpt {
	return func(m *meshlessv1.Meshlet) {
		m.Spec.Server = &meshlessv1.Server{Selector: selector, Services: services}
	}
}

// canary sets the canary weights, as "version", weight pairs.
func canary(pairs ...any) meshletOpt {
	return func(m *meshlessv1.Meshlet) {
		for i := 0; i < len(pairs); i += 2 {
			m.Spec.Server.Canary = append(m.Spec.Server.Canary,
				meshlessv1.CanaryVersion{Version: pairs[i].(string), Weight: int32(pairs[i+1].(int))})
		}
	}
}

func svc(name string) meshlessv1.ServerService { return meshlessv1.ServerService{Name: name} }

func svcMax(name string, maxConn int32) meshlessv1.ServerService {
	return meshlessv1.ServerService{Name: name, MaxConn: &maxConn}
}

// podOpt edits a Pod under construction.
type podOpt func(*corev1.Pod)

// newPod returns a Pod that serves: Running, Ready, with addresses, on node "node-a".
func newPod(namespace, name string, labels map[string]string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: "node-a"},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIP:      "10.0.0.1",
			HostIP:     "192.168.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func notReady(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }

func noReadyCondition(p *corev1.Pod) { p.Status.Conditions = nil }

func pending(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }

func terminating(p *corev1.Pod) {
	now := metav1.Now()
	p.DeletionTimestamp = &now
}

func noIP(p *corev1.Pod) { p.Status.PodIP = "" }

func onNode(node, hostIP string) podOpt {
	return func(p *corev1.Pod) { p.Spec.NodeName, p.Status.HostIP = node, hostIP }
}

// labels builds a label map from key, value pairs.
func labels(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// mustAuthorize resolves the caller Pod and authorizes dest, failing the test on refusal.
func (f *fixture) mustAuthorize(t testing.TB, podNamespace, podName string, dest protocol.ServiceID) Destination {
	t.Helper()
	c, err := f.p.Caller(podNamespace, podName)
	if err != nil {
		t.Fatalf("Caller(%s/%s): %v", podNamespace, podName, err)
	}
	d, err := f.p.Authorize(c, dest)
	if err != nil {
		t.Fatalf("Authorize(%s): %v", dest, err)
	}
	return d
}

// decide is the whole decision for a caller Pod, as a code: what the agent would answer.
func (f *fixture) decide(podNamespace, podName string, dest protocol.ServiceID) protocol.Code {
	c, err := f.p.Caller(podNamespace, podName)
	if err != nil {
		return CodeOf(err)
	}
	d, err := f.p.Authorize(c, dest)
	if err != nil {
		return CodeOf(err)
	}
	_, err = d.Pick(nil, 1, nil, nil)
	return CodeOf(err)
}

// conns is an ActiveConns over a map of "podKey service" counts, for tests.
type conns map[string]int

func (c conns) ActiveConns(podKey, service string) int { return c[podKey+" "+service] }

// names returns the Pod names of endpoints, in order.
func names(eps []Endpoint) []string {
	out := make([]string, len(eps))
	for i, ep := range eps {
		out[i] = ep.Name
	}
	return out
}
