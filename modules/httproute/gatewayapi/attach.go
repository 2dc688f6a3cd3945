package gatewayapi

import (
	"fmt"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// parentKey identifies a parentRef with its defaults filled in, so that a route naming
// the same parent twice gets one status entry.
func parentKey(routeNamespace string, ref *gatewayv1.ParentReference) string {
	group, kind := parentGroupKind(ref)
	ns := routeNamespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	k := group + "/" + kind + "/" + ns + "/" + string(ref.Name) + "/"
	if ref.SectionName != nil {
		k += string(*ref.SectionName)
	}
	if ref.Port != nil {
		k += ":" + strconv.Itoa(int(*ref.Port))
	}
	return k
}

// parentGroupKind is a parentRef's group and kind with their defaults
// (gateway.networking.k8s.io, Gateway).
func parentGroupKind(ref *gatewayv1.ParentReference) (group, kind string) {
	group, kind = gatewayv1.GroupName, "Gateway"
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	return group, kind
}

// parentGateway is the served Gateway a parentRef names, or nil when it names anything
// else: another kind, a Gateway that does not exist, or one of another controller's
// classes. This controller writes status only for its own Gateways; the others are for
// whoever serves them.
func (t *translation) parentGateway(routeNamespace string, ref *gatewayv1.ParentReference) *gatewayState {
	group, kind := parentGroupKind(ref)
	if group != gatewayv1.GroupName || kind != "Gateway" {
		return nil
	}
	ns := routeNamespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	return t.byName[objectName{ns, string(ref.Name)}]
}

// objectName is a namespace and name, a map key that needs no string built.
type objectName struct{ namespace, name string }

// statusRef is statusParentRef of the route's i-th parentRef, made once per compiled
// route rather than once per translation.
func (r *compiledRoute) statusRef(i int) gatewayv1.ParentReference {
	if r.statusRefs == nil {
		refs := r.route.Spec.ParentRefs
		r.statusRefs = make([]gatewayv1.ParentReference, len(refs))
		for j := range refs {
			r.statusRefs[j] = statusParentRef(&refs[j])
		}
	}
	return r.statusRefs[i]
}

// statusParentRef is the parentRef as the status echoes it: as written, with the group
// and kind defaults the API server would have filled in.
func statusParentRef(ref *gatewayv1.ParentReference) gatewayv1.ParentReference {
	out := *ref
	group, kind := parentGroupKind(ref)
	g, k := gatewayv1.Group(group), gatewayv1.Kind(kind)
	out.Group, out.Kind = &g, &k
	return out
}

// How far a route got with one listener, in the order the checks run; the furthest any
// listener reached picks the reason a route that attached nowhere reports.
const (
	stageSelected = iota + 1 // the parentRef's sectionName and port select the listener
	stageAllowed             // allowedRoutes admits the route's kind and namespace
	stageAttached            // the hostnames intersect: attached
)

// attach attaches a route to the listeners of g its parentRef selects and admits, and
// returns the parent's Accepted verdict. Attachment depends only on the parentRef, the
// listeners' allowedRoutes and the hostnames: a listener that is not accepted or not
// programmed still counts the routes attached to it, as the spec requires, though it
// serves none of them.
func (t *translation) attach(r *compiledRoute, g *gatewayState, ref *gatewayv1.ParentReference) (bool, gatewayv1.RouteConditionReason, string) {
	furthest := 0
	for _, l := range g.listeners {
		if ref.SectionName != nil && *ref.SectionName != "" && *ref.SectionName != l.spec.Name {
			continue
		}
		if ref.Port != nil && *ref.Port != l.spec.Port {
			continue
		}
		furthest = max(furthest, stageSelected)
		if !l.allowsRoutes || !l.allowsNamespace(g.gw.Namespace, r.route.Namespace, t.idx) {
			continue
		}
		furthest = max(furthest, stageAllowed)
		domains := r.domainsOn(l.domain)
		if len(domains) == 0 {
			continue
		}
		furthest = stageAttached
		if r.served == 0 {
			continue // attachable, but there is nothing to serve
		}
		r.place(l, domains)
	}
	switch furthest {
	case 0:
		return false, gatewayv1.RouteReasonNoMatchingParent, noMatchingParent(g, ref)
	case stageSelected:
		return false, gatewayv1.RouteReasonNotAllowedByListeners,
			fmt.Sprintf("no listener of Gateway %s selected by the parentRef admits HTTPRoutes from namespace %s", g.key, r.route.Namespace)
	case stageAllowed:
		return false, gatewayv1.RouteReasonNoMatchingListenerHostname,
			fmt.Sprintf("none of the route's hostnames matches the hostname of a listener of Gateway %s selected by the parentRef", g.key)
	}
	if r.served == 0 {
		return false, r.dropped.reason, "No rule can be served: " + r.dropped.message()
	}
	return true, gatewayv1.RouteReasonAccepted, g.attachedMessage
}

func noMatchingParent(g *gatewayState, ref *gatewayv1.ParentReference) string {
	switch {
	case ref.SectionName != nil && ref.Port != nil:
		return fmt.Sprintf("Gateway %s has no listener named %q on port %d", g.key, *ref.SectionName, *ref.Port)
	case ref.SectionName != nil:
		return fmt.Sprintf("Gateway %s has no listener named %q", g.key, *ref.SectionName)
	case ref.Port != nil:
		return fmt.Sprintf("Gateway %s has no listener on port %d", g.key, *ref.Port)
	}
	return fmt.Sprintf("Gateway %s has no listeners", g.key)
}

// place attaches the route to listener l, serving domains there, unless it is attached
// there already (through another parentRef).
func (r *compiledRoute) place(l *listenerState, domains []string) {
	for _, p := range r.placements {
		if p.listener == l {
			return
		}
	}
	l.attachedRoutes++
	start := len(r.groupBuf)
	for _, d := range domains {
		r.groupBuf = append(r.groupBuf, l.groupFor(d))
	}
	r.placements = append(r.placements, placement{listener: l, groups: r.groupBuf[start:len(r.groupBuf):len(r.groupBuf)]})
}

// domainsOn is routeDomains for the route's hostnames, remembered for the last listener
// hostname asked: most routes attach to listeners of one hostname, translation after
// translation.
func (r *compiledRoute) domainsOn(listener string) []string {
	if r.domainsMemo == nil || r.domainsListener != listener {
		r.domainsListener, r.domainsMemo = listener, routeDomains(listener, r.hostnames)
		if r.domainsMemo == nil {
			r.domainsMemo = []string{}
		}
	}
	return r.domainsMemo
}

// routeDomains are the domains a route serves on a listener: the listener's own when the
// route names no hostnames, else the intersections of each route hostname with the
// listener's, without repeats. Empty means the route does not attach.
func routeDomains(listener string, hostnames []string) []string {
	if len(hostnames) == 0 {
		return []string{listener}
	}
	var out []string
	for _, h := range hostnames {
		d, ok := intersect(listener, h)
		if !ok {
			continue
		}
		dup := false
		for _, o := range out {
			if o == d {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, d)
		}
	}
	return out
}

// routeParentStatus is a route's status for its i-th parentRef, which names g.
func (t *translation) routeParentStatus(r *compiledRoute, g *gatewayState, i int, accepted bool, reason gatewayv1.RouteConditionReason, message string) gatewayv1.RouteParentStatus {
	var conditions []metav1.Condition
	if accepted && r.refs.empty() && r.dropped.empty() {
		// The usual case, whose conditions depend on nothing but the Gateway and the
		// generation: thousands of routes share one list (the Result is read only).
		k := attachedKey{gateway: g, generation: r.route.Generation}
		if conditions = t.attachedConditions[k]; conditions == nil {
			conditions = t.routeConditions(r, accepted, reason, message)
			t.attachedConditions[k] = conditions
		}
	} else {
		conditions = t.routeConditions(r, accepted, reason, message)
	}
	return gatewayv1.RouteParentStatus{
		ParentRef:      r.statusRef(i),
		ControllerName: t.controller,
		Conditions:     conditions,
	}
}

// attachedKey identifies the conditions of a route attached to a Gateway without a
// problem.
type attachedKey struct {
	gateway    *gatewayState
	generation int64
}

// routeConditions are a route's conditions for one parent.
func (t *translation) routeConditions(r *compiledRoute, accepted bool, reason gatewayv1.RouteConditionReason, message string) []metav1.Condition {
	c := newConditions(r.route.Generation, t.in.Now)
	c.list = make([]metav1.Condition, 0, 3)
	set(c, string(gatewayv1.RouteConditionAccepted), accepted, reason, message)
	if r.refs.empty() {
		set(c, string(gatewayv1.RouteConditionResolvedRefs), true, gatewayv1.RouteReasonResolvedRefs,
			"All references are resolved")
	} else {
		set(c, string(gatewayv1.RouteConditionResolvedRefs), false, r.refs.reason, r.refs.message())
	}
	if accepted && !r.dropped.empty() {
		// UnsupportedValue is the one reason the spec gives for PartiallyInvalid; the
		// message (which must start "Dropped Rule") says what each rule did wrong.
		set(c, string(gatewayv1.RouteConditionPartiallyInvalid), true, gatewayv1.RouteReasonUnsupportedValue,
			"Dropped Rule(s): "+r.dropped.message())
	}
	return c.list
}
