package gatewayapi

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// scaleInput is one Gateway with routes routes spread over hosts host names, each route
// with a prefix rule and a header rule to one of 100 Services, and a catch-all route
// without hostnames that every virtual host inherits.
func scaleInput(routes, hosts int) Input {
	all := gatewayv1.NamespacesFromAll
	in := Input{
		Now: testNow,
		GatewayClasses: []*gatewayv1.GatewayClass{{
			ObjectMeta: metav1.ObjectMeta{Name: "caddymesh"},
			Spec:       gatewayv1.GatewayClassSpec{ControllerName: ControllerName},
		}},
		Gateways: []*gatewayv1.Gateway{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"},
			Spec: gatewayv1.GatewaySpec{
				GatewayClassName: "caddymesh",
				Listeners: []gatewayv1.Listener{{
					Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType,
					AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: &all}},
				}},
			},
		}},
	}
	for s := range 100 {
		in.Services = append(in.Services, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns-%d", s%10), Name: fmt.Sprintf("svc-%d", s)},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
		})
	}
	parent := []gatewayv1.ParentReference{{Name: "gw", Namespace: ptr(gatewayv1.Namespace("infra"))}}
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for r := range routes {
		s := r % 100
		in.HTTPRoutes = append(in.HTTPRoutes, &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: fmt.Sprintf("ns-%d", s%10), Name: fmt.Sprintf("route-%d", r),
				CreationTimestamp: metav1.NewTime(created.Add(time.Duration(r) * time.Second)),
			},
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parent},
				Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(fmt.Sprintf("host-%d.example.com", r%hosts))},
				Rules: []gatewayv1.HTTPRouteRule{{
					Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
						Type: ptr(gatewayv1.PathMatchPathPrefix), Value: ptr(fmt.Sprintf("/api/%d", r))}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
						Name: gatewayv1.ObjectName(fmt.Sprintf("svc-%d", s)), Port: ptr(gatewayv1.PortNumber(8080))}}}},
				}, {
					Matches: []gatewayv1.HTTPRouteMatch{{Headers: []gatewayv1.HTTPHeaderMatch{{Name: "x-canary", Value: "true"}}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
						Name: gatewayv1.ObjectName(fmt.Sprintf("svc-%d", (s+10)%100)), Port: ptr(gatewayv1.PortNumber(8080))}}}},
				}},
			},
		})
	}
	in.HTTPRoutes = append(in.HTTPRoutes, &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns-0", Name: "catch-all"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parent},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "svc-0", Port: ptr(gatewayv1.PortNumber(8080))}}}}}},
		},
	})
	return in
}

func ptr[T any](v T) *T { return &v }

// TestTranslateScale checks the shape of a large translation: every host gets one
// virtual host holding its routes and then the catch-all, and every route is attached.
func TestTranslateScale(t *testing.T) {
	const routes, hosts = 2000, 200
	r := Translate(scaleInput(routes, hosts))
	if len(r.Gateways) != 1 || len(r.Gateways[0].Ports) != 1 {
		t.Fatalf("got %d gateways", len(r.Gateways))
	}
	tbl := r.Gateways[0].Ports[0].Table
	if len(tbl.VirtualHosts) != hosts+1 {
		t.Fatalf("got %d virtual hosts, want %d", len(tbl.VirtualHosts), hosts+1)
	}
	for _, vh := range tbl.VirtualHosts {
		want := 2*routes/hosts + 1
		if vh.Name == anyDomain {
			want = 1
		}
		if len(vh.Routes) != want {
			t.Fatalf("virtual host %s has %d routes, want %d", vh.Name, len(vh.Routes), want)
		}
		if last := vh.Routes[len(vh.Routes)-1].Name; last != "httproute ns-0/catch-all rule 0 match 0" {
			t.Fatalf("virtual host %s ends with %s, not the catch-all", vh.Name, last)
		}
	}
	if got := r.GatewayStatuses["infra/gw"].Listeners[0].AttachedRoutes; got != routes+1 {
		t.Fatalf("attachedRoutes %d, want %d", got, routes+1)
	}
	for k, parents := range r.RouteStatuses {
		for _, p := range parents {
			for _, c := range p.Conditions {
				if c.Status != metav1.ConditionTrue {
					t.Fatalf("route %s: %s is %s: %s", k, c.Type, c.Status, c.Message)
				}
			}
		}
	}
}

// BenchmarkTranslate translates 10,000 HTTPRoutes (20,000 rules) over 1,000 host names
// on one Gateway.
func BenchmarkTranslate(b *testing.B) {
	in := scaleInput(10_000, 1_000)
	b.ReportAllocs()
	for b.Loop() {
		Translate(in)
	}
}
