package kubeharness

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/uuid"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	discoveryv1ac "k8s.io/client-go/applyconfigurations/discovery/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// Scale is how many objects Populate makes: Services, one EndpointSlice per Service, and
// HTTPRoutes.
type Scale struct {
	Services          int
	EndpointsPerSlice int
	HTTPRoutes        int
	// Workers is how many requests are in flight at once; default 32.
	Workers int
}

// BenchScale is the scale benchmark's: 5,000 Services, 5,000 EndpointSlices with 50,000
// endpoints, and 1,000 HTTPRoutes.
var BenchScale = Scale{Services: 5000, EndpointsPerSlice: 10, HTTPRoutes: 1000}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// Populate creates namespace ns if needed and fills it with objects shaped as an
// apply-managed cluster holds them. Everything is server-side applied, so the API server
// writes managedFields as it would for real users:
//   - Services by the field manager "kubectl": two ports, a selector, five labels and two
//     annotations; four in five also carry kubectl's last-applied-configuration annotation
//     (the JSON of the manifest, as a client-side `kubectl apply` leaves it).
//   - One EndpointSlice per Service by "endpointslice-controller.k8s.io", as that
//     controller makes them: the Service's labels plus its own, an owner reference, and
//     ready endpoints with an address, a node, a zone and a Pod reference each. A
//     controller writes them, so none has the last-applied annotation.
//   - HTTPRoutes by "kubectl": a parent Gateway, a hostname, and two rules with path
//     matches and a backendRef to a Service; four in five with the last-applied annotation.
//
// It returns the first error; objects made until then stay.
func (c *Cluster) Populate(ctx context.Context, ns string, s Scale) error {
	cfg := c.Config()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	defer utilnet.CloseIdleConnectionsFor(hc.Transport)
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return err
	}
	gw, err := gatewayclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}

	kubectl := metav1.ApplyOptions{FieldManager: "kubectl", Force: true}
	controller := metav1.ApplyOptions{FieldManager: "endpointslice-controller.k8s.io", Force: true}
	jobs := make([]func(context.Context) error, 0, s.Services+s.HTTPRoutes)
	for i := range s.Services {
		jobs = append(jobs, func(ctx context.Context) error {
			svc, err := cs.CoreV1().Services(ns).Apply(ctx, scaleService(ns, i), kubectl)
			if err != nil {
				return fmt.Errorf("applying service %d: %w", i, err)
			}
			if _, err := cs.DiscoveryV1().EndpointSlices(ns).Apply(ctx, scaleSlice(svc, i, s.EndpointsPerSlice), controller); err != nil {
				return fmt.Errorf("applying the endpointslice of service %d: %w", i, err)
			}
			return nil
		})
	}
	for i := range s.HTTPRoutes {
		jobs = append(jobs, func(ctx context.Context) error {
			if _, err := gw.GatewayV1().HTTPRoutes(ns).Apply(ctx, scaleRoute(ns, i, s.Services, s.HTTPRoutes), kubectl); err != nil {
				return fmt.Errorf("applying httproute %d: %w", i, err)
			}
			return nil
		})
	}
	workers := s.Workers
	if workers <= 0 {
		workers = 32
	}
	return runJobs(ctx, workers, jobs)
}

// runJobs runs jobs on a number of workers and returns the first error, after which the
// rest are skipped.
func runJobs(ctx context.Context, workers int, jobs []func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan func(context.Context) error)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for job := range next {
				if err := job(ctx); err != nil {
					cancel(err)
				}
			}
		})
	}
	for _, job := range jobs {
		select {
		case next <- job:
			continue
		case <-ctx.Done():
		}
		break
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// ScaleServiceName is the name of Populate's Service i.
func ScaleServiceName(i int) string { return fmt.Sprintf("svc-%05d", i) }

// scaleLabels are a Service's labels, which its EndpointSlice copies.
func scaleLabels(i int) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       ScaleServiceName(i),
		"app.kubernetes.io/instance":   fmt.Sprintf("release-%02d", i%50),
		"app.kubernetes.io/part-of":    "shop",
		"app.kubernetes.io/managed-by": "kubectl",
		"team":                         fmt.Sprintf("team-%02d", i%20),
	}
}

// withLastApplied sets kubectl's annotation, on four objects in five, to the object's
// JSON as applied so far.
func withLastApplied(i int, obj any, set func(map[string]string)) {
	if i%5 == 4 {
		return
	}
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err) // apply configurations always marshal
	}
	set(map[string]string{lastApplied: string(b) + "\n"})
}

func scaleService(ns string, i int) *corev1ac.ServiceApplyConfiguration {
	svc := corev1ac.Service(ScaleServiceName(i), ns).
		WithLabels(scaleLabels(i)).
		WithAnnotations(map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeClusterIP).
			WithSelector(map[string]string{
				"app.kubernetes.io/name":     ScaleServiceName(i),
				"app.kubernetes.io/instance": fmt.Sprintf("release-%02d", i%50),
			}).
			WithPorts(
				corev1ac.ServicePort().WithName("http").WithProtocol(corev1.ProtocolTCP).
					WithPort(80).WithTargetPort(intstr.FromString("http")),
				corev1ac.ServicePort().WithName("metrics").WithProtocol(corev1.ProtocolTCP).
					WithPort(9090).WithTargetPort(intstr.FromInt32(9090)),
			))
	withLastApplied(i, svc, func(a map[string]string) { svc.WithAnnotations(a) })
	return svc
}

func scaleSlice(svc *corev1.Service, i, endpoints int) *discoveryv1ac.EndpointSliceApplyConfiguration {
	// A generated name, as the controller's (generateName: <service>-).
	slice := discoveryv1ac.EndpointSlice(fmt.Sprintf("%s-%05x", svc.Name, (uint32(i)*2654435761)>>12), svc.Namespace).
		WithLabels(scaleLabels(i)).
		WithLabels(map[string]string{
			discoveryv1.LabelServiceName: svc.Name,
			discoveryv1.LabelManagedBy:   "endpointslice-controller.k8s.io",
		}).
		WithAnnotations(map[string]string{
			corev1.EndpointsLastChangeTriggerTime: time.Now().UTC().Format(time.RFC3339),
		}).
		WithOwnerReferences(metav1ac.OwnerReference().
			WithAPIVersion("v1").WithKind("Service").WithName(svc.Name).WithUID(svc.UID).
			WithController(true).WithBlockOwnerDeletion(true)).
		WithAddressType(discoveryv1.AddressTypeIPv4).
		WithPorts(
			discoveryv1ac.EndpointPort().WithName("http").WithProtocol(corev1.ProtocolTCP).WithPort(8080),
			discoveryv1ac.EndpointPort().WithName("metrics").WithProtocol(corev1.ProtocolTCP).WithPort(9090),
		)
	replicaSet := fmt.Sprintf("%s-%08x", svc.Name, uint32(i)*2246822519)
	for j := range endpoints {
		n := i*endpoints + j
		addr := netip.AddrFrom4([4]byte{10, byte(1 + n>>16), byte(n >> 8), byte(n)})
		slice.WithEndpoints(discoveryv1ac.Endpoint().
			WithAddresses(addr.String()).
			WithConditions(discoveryv1ac.EndpointConditions().WithReady(true).WithServing(true).WithTerminating(false)).
			WithNodeName(fmt.Sprintf("node-%03d", n%100)).
			WithZone(fmt.Sprintf("zone-%c", 'a'+n%3)).
			WithTargetRef(corev1ac.ObjectReference().
				WithKind("Pod").WithNamespace(svc.Namespace).
				WithName(fmt.Sprintf("%s-%05x", replicaSet, (uint32(n)*2654435761)>>12)).
				WithUID(uuid.NewUUID())))
	}
	return slice
}

// scaleRoute makes route i of n, whose backend is one of the Services, spread evenly.
func scaleRoute(ns string, i, services, n int) *gatewayac.HTTPRouteApplyConfiguration {
	backend := ScaleServiceName(i * max(services/n, 1) % max(services, 1))
	route := gatewayac.HTTPRoute(fmt.Sprintf("route-%04d", i), ns).
		WithLabels(map[string]string{
			"app.kubernetes.io/name":    backend,
			"app.kubernetes.io/part-of": "shop",
			"team":                      fmt.Sprintf("team-%02d", i%20),
		}).
		WithSpec(gatewayac.HTTPRouteSpec().
			WithParentRefs(gatewayac.ParentReference().WithName("mesh-gateway").WithSectionName("http")).
			WithHostnames(gatewayv1.Hostname(backend+".shop.example.com")).
			WithRules(
				gatewayac.HTTPRouteRule().
					WithMatches(gatewayac.HTTPRouteMatch().WithPath(gatewayac.HTTPPathMatch().
						WithType(gatewayv1.PathMatchPathPrefix).WithValue("/api/v1"))).
					WithBackendRefs(gatewayac.HTTPBackendRef().WithName(gatewayv1.ObjectName(backend)).WithPort(80)),
				gatewayac.HTTPRouteRule().
					WithMatches(gatewayac.HTTPRouteMatch().WithPath(gatewayac.HTTPPathMatch().
						WithType(gatewayv1.PathMatchExact).WithValue("/healthz"))).
					WithBackendRefs(gatewayac.HTTPBackendRef().WithName(gatewayv1.ObjectName(backend)).WithPort(80)),
			))
	withLastApplied(i, route, func(a map[string]string) { route.WithAnnotations(a) })
	return route
}
