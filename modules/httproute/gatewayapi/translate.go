package gatewayapi

import (
	"cmp"
	"slices"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// translation is one run of Translate.
type translation struct {
	in         *Input
	controller gatewayv1.GatewayController
	idx        *index
	compiler   compiler
	// gateways are the served Gateways by "namespace/name".
	gateways map[string]*gatewayState
	// attached are the compiled routes attached to at least one listener.
	attached []*compiledRoute
	result   *Result
}

// Translate computes the data plane and the statuses for the Gateways of the
// GatewayClasses this controller serves. It is a pure function of its input: equal
// inputs, in any order, give equal results.
//
// The steps: pick the served classes; validate each of their Gateways' listeners; compile
// every HTTPRoute that names one of those Gateways and attach it to the listeners that
// admit it; order all compiled matches by Gateway API precedence once; then assemble, for
// every accepted Gateway, one route table per port, and write the statuses.
func Translate(in Input) *Result {
	t := &translation{
		in:         &in,
		controller: in.ControllerName,
		gateways:   make(map[string]*gatewayState),
		result: &Result{
			GatewayStatuses: make(map[string]gatewayv1.GatewayStatus),
			RouteStatuses:   make(map[string][]gatewayv1.RouteParentStatus),
		},
	}
	if t.controller == "" {
		t.controller = ControllerName
	}
	t.idx = newIndex(&in)
	t.compiler = compiler{idx: t.idx, clusters: make(map[string]*table.Cluster)}

	classes, classStatuses := servedClasses(&in, t.controller)
	t.result.GatewayClassStatuses = classStatuses
	for _, gw := range sortedByKey(in.Gateways) {
		if _, ok := classes[string(gw.Spec.GatewayClassName)]; ok {
			g := newGatewayState(gw, t.idx)
			t.gateways[g.key] = g
		}
	}
	for _, route := range sortedByKey(in.HTTPRoutes) {
		t.route(route)
	}
	t.rank()

	keys := make([]string, 0, len(t.gateways))
	for k := range t.gateways {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		g := t.gateways[k]
		status, accepted := t.gatewayStatus(g)
		t.result.GatewayStatuses[k] = status
		if accepted {
			t.result.Gateways = append(t.result.Gateways, buildGateway(g, t.compiler.clusters))
		}
	}
	return t.result
}

// route compiles and attaches one HTTPRoute, if it names one of the served Gateways, and
// writes its parent statuses. A route that names none of them but still carries a status
// entry of this controller gets an empty list, which removes that entry.
func (t *translation) route(route *gatewayv1.HTTPRoute) {
	k := key(route.Namespace, route.Name)
	var r *compiledRoute
	statuses := []gatewayv1.RouteParentStatus{}
	seen := make(map[string]bool, len(route.Spec.ParentRefs))
	attached := false
	for i := range route.Spec.ParentRefs {
		ref := &route.Spec.ParentRefs[i]
		g := t.parentGateway(route.Namespace, ref)
		if g == nil {
			continue
		}
		pk := parentKey(route.Namespace, ref)
		if seen[pk] {
			continue
		}
		seen[pk] = true
		if r == nil {
			r = t.compiler.compile(route)
		}
		ok, reason, message := t.attach(r, g, ref)
		attached = attached || ok
		statuses = append(statuses, t.routeParentStatus(r, ref, ok, reason, message))
	}
	if r == nil && !t.hasOurStatus(route) {
		return
	}
	t.result.RouteStatuses[k] = statuses
	if attached {
		t.attached = append(t.attached, r)
	}
}

// hasOurStatus reports whether a route's status has an entry this controller wrote.
func (t *translation) hasOurStatus(route *gatewayv1.HTTPRoute) bool {
	for _, p := range route.Status.Parents {
		if p.ControllerName == t.controller {
			return true
		}
	}
	return false
}

// rank orders every table route of every attached route by precedence, once, so that
// assembling a virtual host only has to sort small integers.
func (t *translation) rank() {
	var all []*entry
	for _, r := range t.attached {
		all = append(all, r.entries...)
	}
	slices.SortFunc(all, func(a, b *entry) int { return comparePrecedence(&a.prec, &b.prec) })
	for i, e := range all {
		e.rank = i
	}
}

// sortedByKey returns the non-nil objects sorted by "namespace/name", so that the result
// does not depend on the input's order.
func sortedByKey[T any, P interface {
	*T
	GetNamespace() string
	GetName() string
}](objs []P) []P {
	out := make([]P, 0, len(objs))
	for _, o := range objs {
		if o != nil {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b P) int {
		if c := strings.Compare(a.GetNamespace(), b.GetNamespace()); c != 0 {
			return c
		}
		return cmp.Compare(a.GetName(), b.GetName())
	})
	return out
}
