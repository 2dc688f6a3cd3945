package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// TestSetControllerParents checks the route parent set rule on its own: a controller's
// listed parents set, its unlisted ones removed, other controllers' entries untouched.
func TestSetControllerParents(t *testing.T) {
	accepted := condition("Accepted", metav1.ConditionTrue, "Accepted", "")
	entry := func(gw string, ctrl gatewayv1.GatewayController) gatewayv1.RouteParentStatus {
		return gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Name: gatewayv1.ObjectName(gw)}, ControllerName: ctrl,
			Conditions: []metav1.Condition{accepted}}
	}
	current := []gatewayv1.RouteParentStatus{entry("a", "us"), entry("a", "them"), entry("b", "us"), entry("c", "them")}
	for _, tc := range []struct {
		name string
		want []gatewayv1.RouteParentStatus
		// rows are the entries expected, as "parent/controller", in order.
		rows string
	}{
		{"same set", []gatewayv1.RouteParentStatus{entry("a", "us"), entry("b", "us")}, "a/us a/them b/us c/them"},
		{"one parent dropped", []gatewayv1.RouteParentStatus{entry("b", "us")}, "a/them b/us c/them"},
		{"a new parent", []gatewayv1.RouteParentStatus{entry("a", "us"), entry("d", "us")}, "a/us a/them c/them d/us"},
		{"none", nil, "a/them c/them"},
	} {
		got := mesh.SetControllerParents(current, tc.want, "us", "ns", 1)
		var rows []string
		for _, p := range got {
			rows = append(rows, string(p.ParentRef.Name)+"/"+string(p.ControllerName))
		}
		if strings.Join(rows, " ") != tc.rows {
			t.Errorf("%s: %q, want %q", tc.name, strings.Join(rows, " "), tc.rows)
		}
	}
	if len(current) != 4 {
		t.Error("mesh.SetControllerParents changed its input")
	}

	for _, tc := range []struct {
		name    string
		ctrl    gatewayv1.GatewayController
		parents []gatewayv1.RouteParentStatus
		wantErr string
	}{
		{"filled in", "us", []gatewayv1.RouteParentStatus{{ParentRef: gatewayv1.ParentReference{Name: "a"}}}, ""},
		{"no controller", "", nil, "no controller"},
		{"another controller", "us", []gatewayv1.RouteParentStatus{entry("a", "them")}, `reported by "them"`},
		{"no parent name", "us", []gatewayv1.RouteParentStatus{{}}, "no parentRef name"},
	} {
		own, err := mesh.OwnedParents(tc.ctrl, tc.parents)
		switch {
		case tc.wantErr == "" && (err != nil || own[0].ControllerName != tc.ctrl):
			t.Errorf("%s: %v, %+v", tc.name, err, own)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

// TestSourceWriteStatus writes Gateway API status through the source, as the router does
// through mesh.App.WriteStatus, on the real API server: a route's parents as a set per
// controller (another controller's entries kept), a Gateway's and a GatewayClass's status,
// no write at all for an unchanged status, and ErrNoObject for objects the source does not
// hold, including ones outside its namespaces.
func TestSourceWriteStatus(t *testing.T) {
	ctx := testContext(t)
	ns, elsewhere := newNamespace(t), newNamespace(t)
	class := randomName("class")
	if _, err := Create(ctx, testClient, &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: class},
		Spec: gatewayv1.GatewayClassSpec{ControllerName: "caddymesh.io/gateway"}}, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = Delete[*gatewayv1.GatewayClass](context.Background(), testClient, "", class, DeleteOptions{})
	})
	if _, err := Create(ctx, testClient, &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gw"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: gatewayv1.ObjectName(class),
			Listeners: []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}}},
	}, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, where := range []string{ns, elsewhere} {
		if _, err := Create(ctx, testClient, &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: where, Name: "web"},
			Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{
				{Name: "gw-a"}, {Name: "gw-b"},
			}}},
		}, CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	l := startTestLoader(t, loaderConfig{namespaces: []string{ns}, kinds: []string{model.HTTPRoutes, model.Gateways, model.GatewayClasses}})
	src := &Source{loader: l}
	eventually(t, 30*time.Second, wantKeys(typed[*gatewayv1.HTTPRoute](t, l, model.HTTPRoutes), ns+"/web"))
	eventually(t, 30*time.Second, wantKeys(typed[*gatewayv1.Gateway](t, l, model.Gateways), ns+"/gw"))
	eventually(t, 30*time.Second, func() string {
		if _, ok := typed[*gatewayv1.GatewayClass](t, l, model.GatewayClasses).Get(class); !ok {
			return "gatewayclass " + class + " missing"
		}
		return ""
	})

	const ours gatewayv1.GatewayController = "caddymesh.io/gateway"
	accepted := condition(string(gatewayv1.RouteConditionAccepted), metav1.ConditionTrue, string(gatewayv1.RouteReasonAccepted), "")
	parent := func(gw string) gatewayv1.RouteParentStatus {
		return gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Name: gatewayv1.ObjectName(gw)},
			Conditions: []metav1.Condition{accepted}}
	}
	routeStatus := func(where string, parents ...gatewayv1.RouteParentStatus) mesh.Status {
		if parents == nil {
			parents = []gatewayv1.RouteParentStatus{}
		}
		return mesh.Status{Kind: model.HTTPRoutes, Namespace: where, Name: "web", Controller: ours, RouteParents: parents}
	}
	getRoute := func(where string) *gatewayv1.HTTPRoute {
		t.Helper()
		r, err := Get[*gatewayv1.HTTPRoute](ctx, testClient, where, "web", GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rows := func(r *gatewayv1.HTTPRoute) string {
		var out []string
		for _, p := range r.Status.Parents {
			out = append(out, string(p.ParentRef.Name)+"/"+string(p.ControllerName))
		}
		return strings.Join(out, " ")
	}

	// Our two parents, then another controller's entry written beside them.
	if err := src.WriteStatus(ctx, routeStatus(ns, parent("gw-a"), parent("gw-b"))); err != nil {
		t.Fatal(err)
	}
	theirs := parent("gw-a")
	theirs.ControllerName = "example.com/other"
	if _, err := ApplyHTTPRouteParentStatus(ctx, testClient, ns, "web", theirs, "other"); err != nil {
		t.Fatal(err)
	}
	first := getRoute(ns)
	if got := rows(first); got != "gw-a/caddymesh.io/gateway gw-b/caddymesh.io/gateway gw-a/example.com/other" {
		t.Fatalf("parents %q", got)
	}
	if c := first.Status.Parents[0].Conditions[0]; c.ObservedGeneration != first.Generation || c.LastTransitionTime.IsZero() {
		t.Errorf("condition %+v", c)
	}

	// Rewritten unchanged: no write, so no new resourceVersion.
	if err := src.WriteStatus(ctx, routeStatus(ns, parent("gw-a"), parent("gw-b"))); err != nil {
		t.Fatal(err)
	}
	if again := getRoute(ns); again.ResourceVersion != first.ResourceVersion {
		t.Errorf("an unchanged status was written: resourceVersion %s → %s", first.ResourceVersion, again.ResourceVersion)
	}

	// Dropping a parent removes our entry for it; the other controller's entry stays.
	if err := src.WriteStatus(ctx, routeStatus(ns, parent("gw-a"))); err != nil {
		t.Fatal(err)
	}
	dropped := getRoute(ns)
	if got := rows(dropped); got != "gw-a/caddymesh.io/gateway gw-a/example.com/other" {
		t.Errorf("after dropping gw-b: parents %q", got)
	}
	if !equality.Semantic.DeepEqual(dropped.Status.Parents[0], first.Status.Parents[0]) {
		t.Errorf("the kept entry changed: %+v", dropped.Status.Parents[0])
	}
	if err := src.WriteStatus(ctx, routeStatus(ns)); err != nil {
		t.Fatal(err)
	}
	if got := rows(getRoute(ns)); got != "gw-a/example.com/other" {
		t.Errorf("after leaving the route: parents %q", got)
	}

	// A Gateway's and a GatewayClass's status, each written once.
	programmed := condition(string(gatewayv1.GatewayConditionProgrammed), metav1.ConditionTrue, string(gatewayv1.GatewayReasonProgrammed), "")
	gwStatus := mesh.Status{Kind: model.Gateways, Namespace: ns, Name: "gw", Controller: ours, Gateway: &gatewayv1.GatewayStatus{
		Conditions: []metav1.Condition{programmed},
		Listeners: []gatewayv1.ListenerStatus{{Name: "http", AttachedRoutes: 1, Conditions: []metav1.Condition{
			condition(string(gatewayv1.ListenerConditionProgrammed), metav1.ConditionTrue, string(gatewayv1.ListenerReasonProgrammed), ""),
		}}},
	}}
	classStatus := mesh.Status{Kind: model.GatewayClasses, Name: class, Controller: ours, GatewayClass: &gatewayv1.GatewayClassStatus{
		Conditions: []metav1.Condition{condition(string(gatewayv1.GatewayClassConditionStatusAccepted), metav1.ConditionTrue, string(gatewayv1.GatewayClassReasonAccepted), "")},
	}}
	for _, st := range []mesh.Status{gwStatus, classStatus} {
		if err := src.WriteStatus(ctx, st); err != nil {
			t.Fatalf("%s: %v", st.Kind, err)
		}
	}
	gw, err := Get[*gatewayv1.Gateway](ctx, testClient, ns, "gw", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(gw.Status.Conditions, "Programmed") || len(gw.Status.Listeners) != 1 || gw.Status.Listeners[0].AttachedRoutes != 1 {
		t.Errorf("gateway status %+v", gw.Status)
	}
	gc, err := Get[*gatewayv1.GatewayClass](ctx, testClient, "", class, GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(gc.Status.Conditions, "Accepted") {
		t.Errorf("gateway class status %+v", gc.Status)
	}
	for _, st := range []mesh.Status{gwStatus, classStatus} {
		if err := src.WriteStatus(ctx, st); err != nil {
			t.Fatalf("%s again: %v", st.Kind, err)
		}
	}
	gw2, _ := Get[*gatewayv1.Gateway](ctx, testClient, ns, "gw", GetOptions{})
	gc2, _ := Get[*gatewayv1.GatewayClass](ctx, testClient, "", class, GetOptions{})
	if gw2.ResourceVersion != gw.ResourceVersion || gc2.ResourceVersion != gc.ResourceVersion {
		t.Errorf("unchanged statuses were written: gateway %s → %s, class %s → %s",
			gw.ResourceVersion, gw2.ResourceVersion, gc.ResourceVersion, gc2.ResourceVersion)
	}

	// Objects the source does not hold are not written.
	outside := getRoute(elsewhere)
	for _, tc := range []struct {
		name string
		st   mesh.Status
	}{
		{"unknown route", mesh.Status{Kind: model.HTTPRoutes, Namespace: ns, Name: "nope", Controller: ours, RouteParents: []gatewayv1.RouteParentStatus{}}},
		{"route outside the watched namespaces", routeStatus(elsewhere, parent("gw-a"))},
		{"unknown gateway class", mesh.Status{Kind: model.GatewayClasses, Name: randomName("nope"), Controller: ours, GatewayClass: &gatewayv1.GatewayClassStatus{}}},
		{"a kind the source does not watch", mesh.Status{Kind: model.TLSRoutes, Namespace: ns, Name: "web", Controller: ours, RouteParents: []gatewayv1.RouteParentStatus{}}},
	} {
		if err := src.WriteStatus(ctx, tc.st); !errors.Is(err, mesh.ErrNoObject) {
			t.Errorf("%s: error %v, want ErrNoObject", tc.name, err)
		}
	}
	if after := getRoute(elsewhere); after.ResourceVersion != outside.ResourceVersion || len(after.Status.Parents) != 0 {
		t.Errorf("a route outside the source's namespaces was written: %+v", after.Status)
	}

	// Bad statuses are refused before any request.
	bad := routeStatus(ns, theirs)
	if err := src.WriteStatus(ctx, bad); err == nil || errors.Is(err, mesh.ErrNoObject) || !strings.Contains(err.Error(), "example.com/other") {
		t.Errorf("another controller's entry: %v", err)
	}
	if err := src.WriteStatus(ctx, mesh.Status{Kind: model.Gateways, Namespace: ns, Name: "gw"}); err == nil {
		t.Error("a status with nothing set was accepted")
	}
	if err := (&Source{}).WriteStatus(ctx, routeStatus(ns)); !errors.Is(err, mesh.ErrNoObject) {
		t.Errorf("a source that has not started: %v", err)
	}
}
