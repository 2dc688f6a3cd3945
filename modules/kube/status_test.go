package kube

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

func condition(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message}
}

// TestMergeConditions checks the condition rules on their own: lastTransitionTime kept
// while the status is unchanged, observedGeneration defaulted, the set replaced.
func TestMergeConditions(t *testing.T) {
	then := metav1.NewTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	current := []metav1.Condition{
		{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: then, ObservedGeneration: 1},
		{Type: "Stale", Status: metav1.ConditionTrue, Reason: "Old", LastTransitionTime: then},
	}
	for _, tc := range []struct {
		name    string
		desired metav1.Condition
		keepLTT bool
		gen     int64
	}{
		{"same status, new message", condition("Accepted", metav1.ConditionTrue, "Accepted", "now with a message"), true, 2},
		{"status changes", condition("Accepted", metav1.ConditionFalse, "Invalid", ""), false, 2},
		{"new condition", condition("Programmed", metav1.ConditionTrue, "Programmed", ""), false, 2},
		{"explicit generation", metav1.Condition{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", ObservedGeneration: 7}, true, 7},
	} {
		got := mesh.MergeConditions(current, []metav1.Condition{tc.desired}, 2)
		if len(got) != 1 {
			t.Fatalf("%s: %d conditions, want only the desired one", tc.name, len(got))
		}
		c := got[0]
		if c.Status != tc.desired.Status || c.Reason != tc.desired.Reason || c.Message != tc.desired.Message || c.ObservedGeneration != tc.gen {
			t.Errorf("%s: got %+v", tc.name, c)
		}
		if kept := c.LastTransitionTime.Equal(&then); kept != tc.keepLTT || c.LastTransitionTime.IsZero() {
			t.Errorf("%s: lastTransitionTime %v (kept %v, want kept %v)", tc.name, c.LastTransitionTime, kept, tc.keepLTT)
		}
	}
	if current[0].Message != "" || current[0].ObservedGeneration != 1 {
		t.Error("mesh.MergeConditions changed its input")
	}
}

// TestParentKey checks that parent references match with the Gateway API's defaults
// filled in, and differ by controller, section, port and group.
func TestParentKey(t *testing.T) {
	g := func(s string) *gatewayv1.Group { v := gatewayv1.Group(s); return &v }
	k := func(s string) *gatewayv1.Kind { v := gatewayv1.Kind(s); return &v }
	n := func(s string) *gatewayv1.Namespace { v := gatewayv1.Namespace(s); return &v }
	bare := gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Name: "gw"}, ControllerName: "a"}
	for _, tc := range []struct {
		name  string
		ref   gatewayv1.ParentReference
		ctrl  gatewayv1.GatewayController
		equal bool
	}{
		{"defaults spelled out", gatewayv1.ParentReference{Group: g(gatewayv1.GroupName), Kind: k("Gateway"), Namespace: n("routes"), Name: "gw"}, "a", true},
		{"other controller", gatewayv1.ParentReference{Name: "gw"}, "b", false},
		{"other namespace", gatewayv1.ParentReference{Namespace: n("other"), Name: "gw"}, "a", false},
		{"a section", gatewayv1.ParentReference{Name: "gw", SectionName: ptr.To[gatewayv1.SectionName]("http")}, "a", false},
		{"a port", gatewayv1.ParentReference{Name: "gw", Port: ptr.To[gatewayv1.PortNumber](80)}, "a", false},
		{"core group (a Service)", gatewayv1.ParentReference{Group: g(""), Kind: k("Service"), Name: "gw"}, "a", false},
	} {
		other := gatewayv1.RouteParentStatus{ParentRef: tc.ref, ControllerName: tc.ctrl}
		if got := mesh.ParentKeyOf(bare, "routes") == mesh.ParentKeyOf(other, "routes"); got != tc.equal {
			t.Errorf("%s: equal %v, want %v", tc.name, got, tc.equal)
		}
	}
}

// TestRouteParentStatus writes HTTPRoute parent statuses as two controllers would, on the
// real server: each controller's entries survive the other's writes (status.parents is an
// atomic list), an unchanged status writes nothing, a changed message keeps the
// transition time, a changed status moves it, and concurrent writers all land.
func TestRouteParentStatus(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{
			{Name: "gw-a"}, {Name: "gw-b"},
		}}},
	}
	created, err := Create(ctx, testClient, route, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parent := func(gw string, ctrl gatewayv1.GatewayController, conds ...metav1.Condition) gatewayv1.RouteParentStatus {
		return gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Name: gatewayv1.ObjectName(gw)}, ControllerName: ctrl, Conditions: conds}
	}
	entry := func(r *gatewayv1.HTTPRoute, gw string, ctrl gatewayv1.GatewayController) *gatewayv1.RouteParentStatus {
		for i, p := range r.Status.Parents {
			if string(p.ParentRef.Name) == gw && p.ControllerName == ctrl {
				return &r.Status.Parents[i]
			}
		}
		t.Fatalf("no parent status for %s by %s in %+v", gw, ctrl, r.Status.Parents)
		return nil
	}
	accepted := condition(string(gatewayv1.RouteConditionAccepted), metav1.ConditionTrue, string(gatewayv1.RouteReasonAccepted), "")
	resolved := condition(string(gatewayv1.RouteConditionResolvedRefs), metav1.ConditionTrue, string(gatewayv1.RouteReasonResolvedRefs), "")

	a1, err := ApplyHTTPRouteParentStatus(ctx, testClient, ns, "web", parent("gw-a", "example.com/a", accepted, resolved), "controller-a")
	if err != nil {
		t.Fatal(err)
	}
	ea := entry(a1, "gw-a", "example.com/a")
	if len(ea.Conditions) != 2 || ea.Conditions[0].ObservedGeneration != created.Generation || ea.Conditions[0].LastTransitionTime.IsZero() {
		t.Fatalf("controller a's entry %+v", ea)
	}

	b1, err := ApplyHTTPRouteParentStatus(ctx, testClient, ns, "web", parent("gw-b", "example.com/b", accepted), "controller-b")
	if err != nil {
		t.Fatal(err)
	}
	if len(b1.Status.Parents) != 2 || !equality.Semantic.DeepEqual(*entry(b1, "gw-a", "example.com/a"), *ea) {
		t.Fatalf("controller b's write changed controller a's entry: %+v", b1.Status.Parents)
	}
	// Another controller may report on the same parent; each keeps its own entry.
	b2, err := ApplyHTTPRouteParentStatus(ctx, testClient, ns, "web", parent("gw-a", "example.com/b", accepted), "controller-b")
	if err != nil {
		t.Fatal(err)
	}
	if len(b2.Status.Parents) != 3 {
		t.Fatalf("want 3 entries, got %+v", b2.Status.Parents)
	}

	// The same status again: no write at all.
	same, err := ApplyHTTPRouteParentStatus(ctx, testClient, ns, "web", parent("gw-a", "example.com/a", accepted, resolved), "controller-a")
	if err != nil {
		t.Fatal(err)
	}
	if same.ResourceVersion != b2.ResourceVersion || !equality.Semantic.DeepEqual(*entry(same, "gw-a", "example.com/a"), *ea) {
		t.Errorf("re-applying the same status changed the route: rv %s → %s", b2.ResourceVersion, same.ResourceVersion)
	}

	// metav1.Time has second precision: let a second pass, so a moved time shows.
	time.Sleep(1100 * time.Millisecond)
	msg := accepted
	msg.Message = "all good"
	m1, err := ApplyHTTPRouteParentStatus(ctx, testClient, ns, "web", parent("gw-a", "example.com/a", msg, resolved), "controller-a")
	if err != nil {
		t.Fatal(err)
	}
	got := meta.FindStatusCondition(entry(m1, "gw-a", "example.com/a").Conditions, msg.Type)
	if m1.ResourceVersion == same.ResourceVersion || got.Message != "all good" || !got.LastTransitionTime.Equal(&ea.Conditions[0].LastTransitionTime) {
		t.Errorf("a new message: rv %s → %s, condition %+v (transition time was %v)", same.ResourceVersion, m1.ResourceVersion, got, ea.Conditions[0].LastTransitionTime)
	}

	rejected := condition(string(gatewayv1.RouteConditionAccepted), metav1.ConditionFalse, string(gatewayv1.RouteReasonNotAllowedByListeners), "no listener allows it")
	r1, err := ApplyHTTPRouteParentStatus(ctx, testClient, ns, "web", parent("gw-a", "example.com/a", rejected, resolved), "controller-a")
	if err != nil {
		t.Fatal(err)
	}
	got = meta.FindStatusCondition(entry(r1, "gw-a", "example.com/a").Conditions, rejected.Type)
	if got.Status != metav1.ConditionFalse || !got.LastTransitionTime.After(ea.Conditions[0].LastTransitionTime.Time) {
		t.Errorf("a new status: condition %+v, transition time not moved from %v", got, ea.Conditions[0].LastTransitionTime)
	}
	if g := meta.FindStatusCondition(entry(r1, "gw-a", "example.com/a").Conditions, resolved.Type); !g.LastTransitionTime.Equal(&ea.Conditions[1].LastTransitionTime) {
		t.Errorf("an unchanged condition's transition time moved: %v", g)
	}
	if !equality.Semantic.DeepEqual(*entry(r1, "gw-b", "example.com/b"), *entry(b1, "gw-b", "example.com/b")) {
		t.Error("controller a's writes changed controller b's entry")
	}

	// Writers racing on the atomic list: each retries from a fresh read, none is lost.
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := range 5 {
		wg.Go(func() {
			ctrl := gatewayv1.GatewayController(fmt.Sprintf("example.com/racer-%d", i))
			_, err := ApplyHTTPRouteParentStatus(ctx, testClient, ns, "web", parent("gw-b", ctrl, accepted), fmt.Sprintf("racer-%d", i))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("racing writer: %v", err)
		}
	}
	raced, err := Get[*gatewayv1.HTTPRoute](ctx, testClient, ns, "web", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(raced.Status.Parents) != 8 {
		t.Errorf("after 5 racing writers: %d entries, want 8", len(raced.Status.Parents))
	}

	// Removing one entry leaves the others.
	removed, err := RemoveHTTPRouteParentStatus(ctx, testClient, ns, "web", gatewayv1.ParentReference{Name: "gw-a"}, "example.com/a", "controller-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(removed.Status.Parents) != 7 {
		t.Errorf("after removing one: %d entries, want 7", len(removed.Status.Parents))
	}
	entry(removed, "gw-a", "example.com/b")
	again, err := RemoveHTTPRouteParentStatus(ctx, testClient, ns, "web", gatewayv1.ParentReference{Name: "gw-a"}, "example.com/a", "controller-a")
	if err != nil || again.ResourceVersion != removed.ResourceVersion {
		t.Errorf("removing an absent entry wrote: %v", err)
	}
}

// TestGRPCRouteParentStatus checks the generic route helper on another route type.
func TestGRPCRouteParentStatus(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	if _, err := Create(ctx, testClient, &gatewayv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rpc"}}, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	st := gatewayv1.RouteParentStatus{
		ParentRef: gatewayv1.ParentReference{Name: "gw"}, ControllerName: "example.com/a",
		Conditions: []metav1.Condition{condition("Accepted", metav1.ConditionTrue, "Accepted", "")},
	}
	r, err := ApplyRouteParentStatus[*gatewayv1.GRPCRoute](ctx, testClient, ns, "rpc", st, "controller-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Status.Parents) != 1 || r.Status.Parents[0].ControllerName != "example.com/a" {
		t.Errorf("parents %+v", r.Status.Parents)
	}
	if _, err := ApplyRouteParentStatus[*gatewayv1.GRPCRoute](ctx, testClient, ns, "rpc", gatewayv1.RouteParentStatus{}, "controller-a"); err == nil {
		t.Error("a parent status without a controller or parent was accepted")
	}
}

// TestGatewayStatus writes a Gateway's and its GatewayClass's status as their controller
// would: conditions replace the CRD's Pending defaults, addresses and listeners (with
// attached route counts) are set, an unchanged status writes nothing, an unchanged
// listener keeps its transition times, and a listener no longer reported disappears.
func TestGatewayStatus(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	class := randomName("class")
	if _, err := Create(ctx, testClient, &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: class}, Spec: gatewayv1.GatewayClassSpec{ControllerName: "caddymesh.io/test"}}, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Delete[*gatewayv1.GatewayClass](ctx, testClient, "", class, DeleteOptions{}) })
	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gw"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: gatewayv1.ObjectName(class), Listeners: []gatewayv1.Listener{
			{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType},
			{Name: "https", Port: 443, Protocol: gatewayv1.HTTPSProtocolType, Hostname: ptr.To[gatewayv1.Hostname]("a.example")},
		}},
	}
	created, err := Create(ctx, testClient, gw, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Status.Conditions) == 0 || created.Status.Conditions[0].Reason != "Pending" {
		t.Logf("the CRD's default conditions: %+v", created.Status.Conditions)
	}

	programmed := condition(string(gatewayv1.GatewayConditionProgrammed), metav1.ConditionTrue, string(gatewayv1.GatewayReasonProgrammed), "")
	accepted := condition(string(gatewayv1.GatewayConditionAccepted), metav1.ConditionTrue, string(gatewayv1.GatewayReasonAccepted), "")
	listener := func(name string, routes int32) gatewayv1.ListenerStatus {
		return gatewayv1.ListenerStatus{
			Name: gatewayv1.SectionName(name), AttachedRoutes: routes,
			SupportedKinds: []gatewayv1.RouteGroupKind{{Kind: "HTTPRoute"}},
			Conditions: []metav1.Condition{
				condition(string(gatewayv1.ListenerConditionAccepted), metav1.ConditionTrue, string(gatewayv1.ListenerReasonAccepted), ""),
				condition(string(gatewayv1.ListenerConditionProgrammed), metav1.ConditionTrue, string(gatewayv1.ListenerReasonProgrammed), ""),
			},
		}
	}
	status := gatewayv1.GatewayStatus{
		Conditions: []metav1.Condition{accepted, programmed},
		Addresses:  []gatewayv1.GatewayStatusAddress{{Type: ptr.To(gatewayv1.IPAddressType), Value: "192.0.2.1"}},
		Listeners:  []gatewayv1.ListenerStatus{listener("http", 2), listener("https", 0)},
	}
	s1, err := ApplyGatewayStatus(ctx, testClient, ns, "gw", status, "caddymesh-router")
	if err != nil {
		t.Fatal(err)
	}
	if len(s1.Status.Conditions) != 2 || !meta.IsStatusConditionTrue(s1.Status.Conditions, "Programmed") || !meta.IsStatusConditionTrue(s1.Status.Conditions, "Accepted") {
		t.Errorf("conditions %+v", s1.Status.Conditions)
	}
	if s1.Status.Conditions[0].ObservedGeneration != created.Generation {
		t.Errorf("observedGeneration %d, want %d", s1.Status.Conditions[0].ObservedGeneration, created.Generation)
	}
	if len(s1.Status.Addresses) != 1 || s1.Status.Addresses[0].Value != "192.0.2.1" || len(s1.Status.Listeners) != 2 || s1.Status.Listeners[0].AttachedRoutes != 2 {
		t.Errorf("addresses %+v, listeners %+v", s1.Status.Addresses, s1.Status.Listeners)
	}

	same, err := ApplyGatewayStatus(ctx, testClient, ns, "gw", status, "caddymesh-router")
	if err != nil || same.ResourceVersion != s1.ResourceVersion {
		t.Errorf("re-applying the same status: rv %s → %s, %v", s1.ResourceVersion, same.ResourceVersion, err)
	}

	time.Sleep(1100 * time.Millisecond)
	status.Listeners = []gatewayv1.ListenerStatus{listener("http", 3)}
	status.Listeners[0].Conditions = append(status.Listeners[0].Conditions,
		condition(string(gatewayv1.ListenerConditionResolvedRefs), metav1.ConditionTrue, string(gatewayv1.ListenerReasonResolvedRefs), ""))
	s2, err := ApplyGatewayStatus(ctx, testClient, ns, "gw", status, "caddymesh-router")
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.Status.Listeners) != 1 || s2.Status.Listeners[0].Name != "http" || s2.Status.Listeners[0].AttachedRoutes != 3 {
		t.Fatalf("listeners after dropping https: %+v", s2.Status.Listeners)
	}
	before, after := s1.Status.Listeners[0].Conditions[0], s2.Status.Listeners[0].Conditions[0]
	if !after.LastTransitionTime.Equal(&before.LastTransitionTime) || len(s2.Status.Listeners[0].Conditions) != 3 {
		t.Errorf("http listener's Accepted moved from %v to %v", before.LastTransitionTime, after.LastTransitionTime)
	}
	if !equality.Semantic.DeepEqual(s2.Status.Conditions, s1.Status.Conditions) {
		t.Errorf("the gateway's unchanged conditions changed: %+v", s2.Status.Conditions)
	}

	c1, err := ApplyGatewayClassStatus(ctx, testClient, class, gatewayv1.GatewayClassStatus{
		Conditions:        []metav1.Condition{condition(string(gatewayv1.GatewayClassConditionStatusAccepted), metav1.ConditionTrue, string(gatewayv1.GatewayClassReasonAccepted), "")},
		SupportedFeatures: []gatewayv1.SupportedFeature{{Name: "HTTPRoute"}, {Name: "Gateway"}},
	}, "caddymesh-router")
	if err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(c1.Status.Conditions, "Accepted") || len(c1.Status.Conditions) != 1 || len(c1.Status.SupportedFeatures) != 2 {
		t.Errorf("class status %+v", c1.Status)
	}
	c2, err := ApplyGatewayClassStatus(ctx, testClient, class, c1.Status, "caddymesh-router")
	if err != nil || c2.ResourceVersion != c1.ResourceVersion {
		t.Errorf("re-applying the class status: rv %s → %s, %v", c1.ResourceVersion, c2.ResourceVersion, err)
	}
	if _, err := ApplyGatewayClassStatus(ctx, testClient, class, c1.Status, ""); err == nil {
		t.Error("a status apply without a field manager was accepted")
	}
}
