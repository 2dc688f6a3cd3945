package gatewayapi

import (
	"fmt"
	"strconv"

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
	return t.gateways[key(ns, string(ref.Name))]
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
		domains := routeDomains(l.domain, r.hostnames)
		if len(domains) == 0 {
			continue
		}
		furthest = stageAttached
		if r.served == 0 {
			continue // attachable, but there is nothing to serve
		}
		if _, ok := l.attached[r.key]; !ok {
			l.attached[r.key] = struct{}{}
			l.attachments = append(l.attachments, attachment{route: r, domains: domains})
		}
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
	return true, gatewayv1.RouteReasonAccepted, "Route is attached to Gateway " + g.key
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

// routeParentStatus is a route's status for one of this controller's parents.
func (t *translation) routeParentStatus(r *compiledRoute, ref *gatewayv1.ParentReference, accepted bool, reason gatewayv1.RouteConditionReason, message string) gatewayv1.RouteParentStatus {
	c := newConditions(r.route.Generation, t.in.Now)
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
	return gatewayv1.RouteParentStatus{
		ParentRef:      statusParentRef(ref),
		ControllerName: t.controller,
		Conditions:     c.list,
	}
}
