package kube

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/caddymesh/caddymesh/modules/collection"
	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// clients are the admin's typed clients, for tests to change the cluster with.
type clients struct {
	core    kubernetes.Interface
	gateway gatewayclient.Interface
	dyn     dynamic.Interface
}

func adminClients(t *testing.T) clients {
	t.Helper()
	cfg := cluster.Config()
	return clients{
		core:    kubernetes.NewForConfigOrDie(cfg),
		gateway: gatewayclient.NewForConfigOrDie(cfg),
		dyn:     dynamic.NewForConfigOrDie(cfg),
	}
}

// startTestLoader runs a source against the cluster until the test ends.
func startTestLoader(t *testing.T, cfg loaderConfig) *loader {
	t.Helper()
	if cfg.rest == nil {
		cfg.rest = cluster.Config()
	}
	if cfg.source == "" {
		cfg.source = "kubernetes"
	}
	cfg.logger = zaptest.NewLogger(t)
	l, err := startLoader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Destruct() })
	return l
}

// typed returns a kind's collection with its item type.
func typed[T model.Object](t *testing.T, l *loader, kind string) collection.Collection[T] {
	t.Helper()
	st, ok := l.stores[kind].(*store[T])
	if !ok {
		t.Fatalf("kind %s holds %T", kind, l.stores[kind])
	}
	return st.static
}

// eventually polls cond until it returns "" or the time is up, then fails with its last
// answer.
func eventually(t *testing.T, limit time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func keysOf[T model.Object](c collection.Collection[T]) []string {
	var keys []string
	for _, item := range c.List() {
		keys = append(keys, model.Key(item.GetNamespace(), item.GetName()))
	}
	sort.Strings(keys)
	return keys
}

func wantKeys[T model.Object](c collection.Collection[T], want ...string) func() string {
	return func() string {
		sort.Strings(want)
		got := keysOf(c)
		if !c.HasSynced() {
			return fmt.Sprintf("%s not synced (error: %v)", c.Name(), c.LastError())
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Sprintf("%s holds %v, want %v (error: %v)", c.Name(), got, want, c.LastError())
		}
		return ""
	}
}

var meshletGVR = meshlessv1.GroupVersion.WithResource(meshlessv1.Resource)
var compatMeshletGVR = meshlessv1.CompatGroupVersion.WithResource(meshlessv1.Resource)

// applyMeshlet creates or replaces a Meshlet in the given group through the dynamic client.
func applyMeshlet(t *testing.T, c clients, gvr schema.GroupVersionResource, m *meshlessv1.Meshlet) {
	t.Helper()
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(m)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion(gvr.GroupVersion().String())
	u.SetKind(meshlessv1.Kind)
	u.SetManagedFields(nil)
	if _, err := c.dyn.Resource(gvr).Namespace(m.Namespace).Apply(context.Background(), m.Name, u,
		metav1.ApplyOptions{FieldManager: "test", Force: true}); err != nil {
		t.Fatalf("applying meshlet %s/%s in %s: %v", m.Namespace, m.Name, gvr.Group, err)
	}
}

func serverMeshlet(ns, name string, selector map[string]string) *meshlessv1.Meshlet {
	return &meshlessv1.Meshlet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: meshlessv1.MeshletSpec{Server: &meshlessv1.Server{
			Selector: selector,
			Services: []meshlessv1.ServerService{{Name: "api"}},
		}},
	}
}

func readyPod(ns, name, node string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels,
			Annotations: map[string]string{lastApplied: `{"big":"blob"}`, "keep": "me"}},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{
				Name: "app", Image: "example.com/app:1", Command: []string{"/app", "--serve"},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Env:   []corev1.EnvVar{{Name: "A", Value: strings.Repeat("x", 1000)}},
			}},
		},
	}
}

// createPod creates a Pod and, as no kubelet runs, marks it Running and Ready itself.
func createPod(t *testing.T, c clients, pod *corev1.Pod) {
	t.Helper()
	ctx := context.Background()
	created, err := c.core.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status = corev1.PodStatus{
		Phase:      corev1.PodRunning,
		PodIP:      "10.1.0.1",
		HostIP:     "192.0.2.1",
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
	}
	if _, err := c.core.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestSourceEveryKind creates one object of every kind and checks each arrives, in its
// collection and with its Go type, and that updates and deletes follow.
func TestSourceEveryKind(t *testing.T) {
	ctx := context.Background()
	c := adminClients(t)
	ns := newNamespace(t)

	if _, err := c.core.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.core.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Port: ptr.To[int32](8080)}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createPod(t, c, readyPod(ns, "web-0", "node-a", map[string]string{"app": "web"}))
	applyMeshlet(t, c, meshletGVR, serverMeshlet(ns, "web", map[string]string{"app": "web"}))
	applyMeshlet(t, c, compatMeshletGVR, serverMeshlet(ns, "legacy", map[string]string{"app": "legacy"}))
	className := "class-" + ns
	if _, err := c.gateway.GatewayV1().GatewayClasses().Create(ctx, &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: className},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: "caddymesh.io/gateway"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.gateway.GatewayV1().GatewayClasses().Delete(ctx, className, metav1.DeleteOptions{}) })
	if _, err := c.gateway.GatewayV1().Gateways(ns).Create(ctx, &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gw"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: gatewayv1.ObjectName(className),
			Listeners: []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.gateway.GatewayV1().HTTPRoutes(ns).Create(ctx, &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: ptr.To[gatewayv1.PortNumber](80)}}}}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.gateway.GatewayV1().TLSRoutes(ns).Create(ctx, &gatewayv1.TLSRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tls"},
		Spec: gatewayv1.TLSRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{"tls.example.com"},
			Rules: []gatewayv1.TLSRouteRule{{BackendRefs: []gatewayv1.BackendRef{{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: ptr.To[gatewayv1.PortNumber](443)}}}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.gateway.GatewayV1().ReferenceGrants(ns).Create(ctx, &gatewayv1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "allow"},
		Spec: gatewayv1.ReferenceGrantSpec{
			From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: "other"}},
			To:   []gatewayv1.ReferenceGrantTo{{Kind: "Service"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	if _, err := c.core.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cert"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: []byte("CERT"), corev1.TLSPrivateKeyKey: []byte("KEY")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	applyHTTPFilter(t, c, ns, "headers", `{"handler": "headers"}`)

	l := startTestLoader(t, loaderConfig{namespaces: []string{ns}})
	for _, check := range []func() string{
		wantKeys(typed[*corev1.Secret](t, l, model.TLSSecrets), ns+"/cert"),
		wantKeys(typed[*gatewayv1alpha1.HTTPFilter](t, l, model.HTTPFilters), ns+"/headers"),
		wantKeys(typed[*corev1.Service](t, l, model.Services), ns+"/web"),
		wantKeys(typed[*discoveryv1.EndpointSlice](t, l, model.EndpointSlices), ns+"/web-1"),
		wantKeys(typed[*corev1.Pod](t, l, model.Pods), ns+"/web-0"),
		wantKeys(typed[*meshlessv1.Meshlet](t, l, model.Meshlets), ns+"/web", ns+"/legacy"),
		wantKeys(typed[*gatewayv1.Gateway](t, l, model.Gateways), ns+"/gw"),
		wantKeys(typed[*gatewayv1.HTTPRoute](t, l, model.HTTPRoutes), ns+"/web"),
		wantKeys(typed[*gatewayv1.TLSRoute](t, l, model.TLSRoutes), ns+"/tls"),
		wantKeys(typed[*gatewayv1.ReferenceGrant](t, l, model.ReferenceGrants), ns+"/allow"),
	} {
		eventually(t, 30*time.Second, check)
	}
	// Cluster-scoped kinds are read whole.
	eventually(t, 10*time.Second, func() string {
		if _, ok := typed[*corev1.Namespace](t, l, model.Namespaces).Get(ns); !ok {
			return "namespace " + ns + " missing"
		}
		if _, ok := typed[*gatewayv1.GatewayClass](t, l, model.GatewayClasses).Get(className); !ok {
			return "gatewayclass " + className + " missing"
		}
		return ""
	})

	// Objects are trimmed once, on arrival.
	pod, _ := typed[*corev1.Pod](t, l, model.Pods).Get(ns + "/web-0")
	if pod.ManagedFields != nil || pod.Annotations[lastApplied] != "" || pod.Annotations["keep"] != "me" {
		t.Errorf("pod metadata not trimmed as expected: managedFields=%d annotations=%v", len(pod.ManagedFields), pod.Annotations)
	}
	if len(pod.Spec.Containers) != 1 || pod.Spec.Containers[0].Image != "" || pod.Spec.Containers[0].Env != nil ||
		pod.Spec.Containers[0].Ports[0].Name != "http" || pod.Spec.NodeName != "node-a" ||
		pod.Status.PodIP != "10.1.0.1" || len(pod.Status.Conditions) != 1 {
		t.Errorf("pod not trimmed to what consumers read: %+v / %+v", pod.Spec, pod.Status)
	}
	svc, _ := typed[*corev1.Service](t, l, model.Services).Get(ns + "/web")
	if svc.ManagedFields != nil {
		t.Errorf("service keeps managedFields")
	}

	// Updates and deletes follow.
	svc, err := c.core.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Labels = map[string]string{"tier": "front"}
	if _, err := c.core.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		got, _ := typed[*corev1.Service](t, l, model.Services).Get(ns + "/web")
		if got == nil || got.Labels["tier"] != "front" {
			return "service update not seen"
		}
		return ""
	})
	if err := c.gateway.GatewayV1().HTTPRoutes(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, wantKeys(typed[*gatewayv1.HTTPRoute](t, l, model.HTTPRoutes)))
	// No error lasts. (One may pass: a CRD's first list can be refused with 429 while the
	// API server fills its watch cache, and the informer retries.)
	eventually(t, 10*time.Second, func() string {
		for _, kind := range l.kinds {
			if err := l.stores[kind].info().LastError(); err != nil {
				return kind + ": unexpected error: " + err.Error()
			}
		}
		return ""
	})
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestSourceStopReleasesConnections: a stopped source leaves no socket behind (goroutines
// are checked for the whole package by TestMain).
func TestSourceStopReleasesConnections(t *testing.T) {
	ns := newNamespace(t)
	before := openFDs(t)
	for range 3 {
		cfg := loaderConfig{source: "kubernetes", rest: cluster.Config(), namespaces: []string{ns}, logger: zaptest.NewLogger(t)}
		l, err := startLoader(cfg)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() string {
			for _, kind := range l.kinds {
				if !l.stores[kind].info().HasSynced() {
					return kind + " not synced"
				}
			}
			return ""
		})
		if err := l.Destruct(); err != nil {
			t.Fatal(err)
		}
	}
	if after := openFDs(t); after > before {
		t.Errorf("%d descriptors open after three sources started and stopped, %d before", after, before)
	}
}
