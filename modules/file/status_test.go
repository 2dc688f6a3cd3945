package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

const gatewayObjects = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: caddy}
spec: {controllerName: caddymesh.io/gateway}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec: {gatewayClassName: caddy, listeners: [{name: http, port: 80, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{name: web, port: 80}]}]}
`

var then = metav1.NewTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))

func cond(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, LastTransitionTime: then}
}

func parent(gw string, conds ...metav1.Condition) gatewayv1.RouteParentStatus {
	return gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Name: gatewayv1.ObjectName(gw)}, Conditions: conds}
}

func routeStatus(ctrl gatewayv1.GatewayController, parents ...gatewayv1.RouteParentStatus) mesh.Status {
	if parents == nil {
		parents = []gatewayv1.RouteParentStatus{}
	}
	return mesh.Status{Kind: model.HTTPRoutes, Namespace: "shop", Name: "web", Controller: ctrl, RouteParents: parents}
}

// TestMergeStatus checks the merge rules on their own: transition times kept while a
// condition's status holds, parents replaced as a set, listeners matched by name.
func TestMergeStatus(t *testing.T) {
	now := metav1.NewTime(then.Add(time.Hour))
	accepted := cond("Accepted", metav1.ConditionTrue, "Accepted")
	rejected := cond("Accepted", metav1.ConditionFalse, "NotAllowedByListeners")
	rejected.LastTransitionTime = now
	msg := accepted
	msg.Message, msg.LastTransitionTime = "now with a message", now

	prevRoute := routeStatus("c", parent("a", accepted), parent("b", accepted))
	prevGateway := mesh.Status{Kind: model.Gateways, Gateway: &gatewayv1.GatewayStatus{
		Conditions: []metav1.Condition{accepted},
		Listeners:  []gatewayv1.ListenerStatus{{Name: "http", Conditions: []metav1.Condition{accepted}}},
	}}
	tests := []struct {
		name    string
		prev    *mesh.Status
		desired mesh.Status
		// check returns what is wrong with the merged status.
		check func(got mesh.Status) string
	}{
		{"first report keeps its times", nil, routeStatus("c", parent("a", msg)), func(got mesh.Status) string {
			if c := got.RouteParents[0].Conditions[0]; !c.LastTransitionTime.Equal(&now) || c.ObservedGeneration != 3 {
				return "condition " + c.String()
			}
			return ""
		}},
		{"same status, new message: time kept", &prevRoute, routeStatus("c", parent("a", msg)), func(got mesh.Status) string {
			c := got.RouteParents[0].Conditions[0]
			if !c.LastTransitionTime.Equal(&then) || c.Message != "now with a message" {
				return "condition " + c.String()
			}
			return ""
		}},
		{"status changes: time moves", &prevRoute, routeStatus("c", parent("a", rejected)), func(got mesh.Status) string {
			if c := got.RouteParents[0].Conditions[0]; !c.LastTransitionTime.Equal(&now) || c.Status != metav1.ConditionFalse {
				return "condition " + c.String()
			}
			return ""
		}},
		{"parents not listed go", &prevRoute, routeStatus("c", parent("b", accepted)), func(got mesh.Status) string {
			if len(got.RouteParents) != 1 || got.RouteParents[0].ParentRef.Name != "b" {
				return "parents " + parentNames(got.RouteParents)
			}
			return ""
		}},
		{"defaults spelled out match", &prevRoute, routeStatus("c", gatewayv1.RouteParentStatus{
			ParentRef: gatewayv1.ParentReference{Group: ptr.To[gatewayv1.Group](gatewayv1.GroupName), Kind: ptr.To[gatewayv1.Kind]("Gateway"),
				Namespace: ptr.To[gatewayv1.Namespace]("shop"), Name: "a"},
			Conditions: []metav1.Condition{msg},
		}), func(got mesh.Status) string {
			if c := got.RouteParents[0].Conditions[0]; !c.LastTransitionTime.Equal(&then) {
				return "condition " + c.String()
			}
			return ""
		}},
		{"a parent listed twice keeps the last", nil, routeStatus("c", parent("a", accepted), parent("b"), parent("a", rejected)), func(got mesh.Status) string {
			if len(got.RouteParents) != 2 || got.RouteParents[0].Conditions[0].Status != metav1.ConditionFalse {
				return "parents " + parentNames(got.RouteParents)
			}
			return ""
		}},
		{"gateway listeners by name", &prevGateway, mesh.Status{Kind: model.Gateways, Gateway: &gatewayv1.GatewayStatus{
			Conditions: []metav1.Condition{msg},
			Listeners: []gatewayv1.ListenerStatus{
				{Name: "https", Conditions: []metav1.Condition{msg}},
				{Name: "http", Conditions: []metav1.Condition{msg}},
			},
		}}, func(got mesh.Status) string {
			g := got.Gateway
			switch {
			case !g.Conditions[0].LastTransitionTime.Equal(&then):
				return "gateway condition " + g.Conditions[0].String()
			case !g.Listeners[0].Conditions[0].LastTransitionTime.Equal(&now):
				return "new listener's condition " + g.Listeners[0].Conditions[0].String()
			case !g.Listeners[1].Conditions[0].LastTransitionTime.Equal(&then):
				return "kept listener's condition " + g.Listeners[1].Conditions[0].String()
			}
			return ""
		}},
		{"gateway class", &mesh.Status{Kind: model.GatewayClasses, GatewayClass: &gatewayv1.GatewayClassStatus{Conditions: []metav1.Condition{accepted}}},
			mesh.Status{Kind: model.GatewayClasses, GatewayClass: &gatewayv1.GatewayClassStatus{Conditions: []metav1.Condition{msg, rejectedOther(now)}}},
			func(got mesh.Status) string {
				c := got.GatewayClass.Conditions
				if len(c) != 2 || !c[0].LastTransitionTime.Equal(&then) || c[1].ObservedGeneration != 3 {
					return "conditions " + c[0].String() + c[1].String()
				}
				return ""
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.desired
			got := mergeStatus(tc.prev, tc.desired, 3)
			if msg := tc.check(got); msg != "" {
				t.Error(msg)
			}
			if !equality.Semantic.DeepEqual(before, tc.desired) {
				t.Error("mergeStatus changed its input")
			}
		})
	}
}

func rejectedOther(now metav1.Time) metav1.Condition {
	c := cond("SupportedVersion", metav1.ConditionFalse, "Unsupported")
	c.LastTransitionTime = now
	return c
}

func parentNames(ps []gatewayv1.RouteParentStatus) string {
	var names []string
	for _, p := range ps {
		names = append(names, string(p.ParentRef.Name))
	}
	return strings.Join(names, ",")
}

// TestWriteStatus writes statuses of the file source's objects as controllers would, and
// reads them back.
func TestWriteStatus(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "gw.yaml"), gatewayObjects)
	src := &Source{loader: newTestLoader(t, false, time.Millisecond, dir)}
	ctx := context.Background()
	accepted := cond("Accepted", metav1.ConditionTrue, "Accepted")

	writes := []struct {
		name    string
		status  mesh.Status
		wantErr string // "" for success; ErrNoObject is checked with errors.Is
		noObj   bool
	}{
		{name: "route, controller a", status: routeStatus("example.com/a", parent("gw", accepted))},
		{name: "route, controller b on the same parent", status: routeStatus("example.com/b", parent("gw", accepted))},
		{name: "route, a again, unchanged", status: routeStatus("example.com/a", parent("gw", accepted))},
		{name: "gateway", status: mesh.Status{Kind: model.Gateways, Namespace: "shop", Name: "gw", Controller: "example.com/a",
			Gateway: &gatewayv1.GatewayStatus{Conditions: []metav1.Condition{accepted}}}},
		{name: "gateway class", status: mesh.Status{Kind: model.GatewayClasses, Name: "caddy", Controller: "example.com/a",
			GatewayClass: &gatewayv1.GatewayClassStatus{Conditions: []metav1.Condition{accepted}}}},
		{name: "unknown route", status: mesh.Status{Kind: model.HTTPRoutes, Namespace: "shop", Name: "nope", Controller: "c",
			RouteParents: []gatewayv1.RouteParentStatus{}}, noObj: true},
		{name: "route in another namespace", status: mesh.Status{Kind: model.HTTPRoutes, Namespace: "other", Name: "web", Controller: "c",
			RouteParents: []gatewayv1.RouteParentStatus{}}, noObj: true},
		{name: "a kind the source does not read", status: mesh.Status{Kind: "grpcroutes", Namespace: "shop", Name: "web", Controller: "c",
			RouteParents: []gatewayv1.RouteParentStatus{}}, wantErr: "not a route"},
		{name: "invalid: two statuses", status: mesh.Status{Kind: model.Gateways, Namespace: "shop", Name: "gw", Controller: "c",
			Gateway: &gatewayv1.GatewayStatus{}, GatewayClass: &gatewayv1.GatewayClassStatus{}}, wantErr: "exactly one"},
		{name: "invalid: another controller's parent", status: routeStatus("example.com/a", gatewayv1.RouteParentStatus{
			ParentRef: gatewayv1.ParentReference{Name: "gw"}, ControllerName: "example.com/b"}), wantErr: `reported by "example.com/b"`},
	}
	for _, w := range writes {
		err := src.WriteStatus(ctx, w.status)
		switch {
		case w.noObj:
			if !errors.Is(err, mesh.ErrNoObject) {
				t.Errorf("%s: error %v, want ErrNoObject", w.name, err)
			}
		case w.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), w.wantErr) || errors.Is(err, mesh.ErrNoObject) {
				t.Errorf("%s: error %v, want one containing %q", w.name, err, w.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", w.name, err)
		}
	}

	got := src.Statuses()
	var ids []string
	for _, s := range got {
		ids = append(ids, s.Kind+" "+s.Key()+" "+string(s.Controller))
	}
	want := "gatewayclasses caddy example.com/a,gateways shop/gw example.com/a,httproutes shop/web example.com/a,httproutes shop/web example.com/b"
	if strings.Join(ids, ",") != want {
		t.Fatalf("statuses %q, want %q", strings.Join(ids, ","), want)
	}
	if p := got[2].RouteParents[0]; p.ControllerName != "example.com/a" || p.Conditions[0].ObservedGeneration != 0 {
		t.Errorf("controller a's parent %+v", p)
	}
	// The result is a copy.
	got[2].RouteParents[0].ParentRef.Name = "changed"
	if src.Statuses()[2].RouteParents[0].ParentRef.Name != "gw" {
		t.Error("Statuses returned the recorded status, not a copy")
	}

	// An empty set of parents takes the controller's entry away; the other's stays.
	if err := src.WriteStatus(ctx, routeStatus("example.com/a")); err != nil {
		t.Fatal(err)
	}
	if n := len(src.Statuses()); n != 3 {
		t.Errorf("%d statuses after controller a left the route, want 3", n)
	}

	// Statuses go with their objects.
	write(t, filepath.Join(dir, "gw.yaml"), strings.SplitN(gatewayObjects, "---\n", 2)[0])
	src.loader.sync()
	if got := src.Statuses(); len(got) != 1 || got[0].Kind != model.GatewayClasses {
		t.Errorf("after the gateway and route went, statuses %+v", got)
	}
	if err := os.Remove(filepath.Join(dir, "gw.yaml")); err != nil {
		t.Fatal(err)
	}
	src.loader.sync()
	if got := src.Statuses(); len(got) != 0 {
		t.Errorf("after the file went, statuses %+v", got)
	}
	if err := (&Source{}).WriteStatus(ctx, routeStatus("c")); !errors.Is(err, mesh.ErrNoObject) {
		t.Errorf("an unloaded source: %v", err)
	}
}
