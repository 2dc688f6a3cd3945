package gatewayapi

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// httpRouteKind is the only route kind the listeners serve.
const httpRouteKind = gatewayv1.Kind("HTTPRoute")

// gatewayState is one served Gateway while it is being translated: its validated
// listeners, which the routes then attach to.
type gatewayState struct {
	gw        *gatewayv1.Gateway
	key       string
	listeners []*listenerState
	// attachedMessage is the Accepted message of the routes attached to it.
	attachedMessage string
}

// verdict is a condition's outcome before it is stamped.
type verdict struct {
	ok      bool
	reason  gatewayv1.ListenerConditionReason
	message string
}

// listenerState is one listener's validation and the routes attached to it.
type listenerState struct {
	spec   *gatewayv1.Listener
	domain string // the hostname as a domain; anyDomain when unset
	served bool   // an HTTP or HTTPS listener

	// kinds are the route kinds the listener supports out of those it names; allowsRoutes
	// says whether HTTPRoute is one of them.
	kinds        []gatewayv1.RouteGroupKind
	allowsRoutes bool
	from         gatewayv1.FromNamespaces
	selector     labels.Selector

	accepted   verdict
	conflicted verdict // ok means conflicted
	resolved   problems[gatewayv1.ListenerConditionReason]
	certs      []*Certificate
	// overlappingTLS is set on HTTPS listeners whose hostnames overlap another's on the
	// same port, which connection coalescing can confuse.
	overlappingTLS bool

	// attachedRoutes counts the routes attached to this listener; groups are the routes
	// it serves for each domain they give it (place fills them in precedence order).
	attachedRoutes int32
	groups         map[string]*group
	// grew says whether a group was added in this translation.
	grew bool
}

// programmed reports whether the listener goes into the data plane: accepted, distinct
// from the others on its port, and (for HTTPS) with at least one usable certificate.
func (l *listenerState) programmed() bool {
	if !l.accepted.ok || l.conflicted.ok {
		return false
	}
	return l.spec.Protocol == gatewayv1.HTTPProtocolType || len(l.certs) > 0
}

// newGatewayState validates a served Gateway's listeners.
func newGatewayState(gw *gatewayv1.Gateway, idx *index) *gatewayState {
	g := &gatewayState{gw: gw, key: key(gw.Namespace, gw.Name)}
	g.attachedMessage = "Route is attached to Gateway " + g.key
	for i := range gw.Spec.Listeners {
		g.listeners = append(g.listeners, newListenerState(gw, &gw.Spec.Listeners[i], idx))
	}
	markConflicts(g.listeners)
	markOverlappingTLS(g.listeners)
	return g
}

func newListenerState(gw *gatewayv1.Gateway, l *gatewayv1.Listener, idx *index) *listenerState {
	ls := &listenerState{
		spec:     l,
		domain:   listenerDomain(l.Hostname),
		served:   l.Protocol == gatewayv1.HTTPProtocolType || l.Protocol == gatewayv1.HTTPSProtocolType,
		accepted: verdict{ok: true, reason: gatewayv1.ListenerReasonAccepted, message: "Listener is valid"},
		conflicted: verdict{reason: gatewayv1.ListenerReasonNoConflicts,
			message: "Listener is distinct from the others on its port"},
		groups: make(map[string]*group),
	}
	ls.resolveKinds()
	if !ls.served {
		ls.accepted = verdict{reason: gatewayv1.ListenerReasonUnsupportedProtocol,
			message: fmt.Sprintf("protocol %q is not supported; use HTTP or HTTPS", l.Protocol)}
	}
	if msg := ls.resolveNamespaces(); msg != "" && ls.accepted.ok {
		ls.accepted = verdict{reason: gatewayv1.ListenerReasonUnsupportedValue, message: msg}
	}
	if l.Protocol == gatewayv1.HTTPSProtocolType {
		if l.TLS != nil && l.TLS.Mode != nil && *l.TLS.Mode != gatewayv1.TLSModeTerminate {
			if ls.accepted.ok {
				ls.accepted = verdict{reason: gatewayv1.ListenerReasonUnsupportedValue,
					message: fmt.Sprintf("tls.mode %s is not supported on HTTPS listeners; use Terminate", *l.TLS.Mode)}
			}
		} else {
			ls.certs = resolveCertificates(gw, l, idx, &ls.resolved)
		}
	}
	return ls
}

// resolveKinds works out the supported route kinds: HTTPRoute when the listener names
// none, else those it names that are HTTPRoute; each other kind is a ResolvedRefs
// problem (InvalidRouteKinds). The list is never nil, so that an empty one is written.
func (ls *listenerState) resolveKinds() {
	ls.kinds = []gatewayv1.RouteGroupKind{}
	var named []gatewayv1.RouteGroupKind
	if ls.spec.AllowedRoutes != nil {
		named = ls.spec.AllowedRoutes.Kinds
	}
	if len(named) == 0 {
		if ls.served {
			ls.kinds = append(ls.kinds, httpRouteGroupKind())
			ls.allowsRoutes = true
		}
		return
	}
	for _, k := range named {
		group := gatewayv1.GroupName
		if k.Group != nil {
			group = string(*k.Group)
		}
		if !ls.served || group != gatewayv1.GroupName || k.Kind != httpRouteKind {
			ls.resolved.add(gatewayv1.ListenerReasonInvalidRouteKinds,
				"route kind %s is not supported on %s listeners", groupKind(group, string(k.Kind)), ls.spec.Protocol)
			continue
		}
		if !ls.allowsRoutes {
			ls.kinds = append(ls.kinds, httpRouteGroupKind())
			ls.allowsRoutes = true
		}
	}
}

func httpRouteGroupKind() gatewayv1.RouteGroupKind {
	group := gatewayv1.Group(gatewayv1.GroupName)
	return gatewayv1.RouteGroupKind{Group: &group, Kind: httpRouteKind}
}

// resolveNamespaces reads allowedRoutes.namespaces (default: the Gateway's namespace
// only), returning why it is unusable, if it is.
func (ls *listenerState) resolveNamespaces() string {
	ls.from = gatewayv1.NamespacesFromSame
	var rn *gatewayv1.RouteNamespaces
	if ls.spec.AllowedRoutes != nil {
		rn = ls.spec.AllowedRoutes.Namespaces
	}
	if rn == nil {
		return ""
	}
	if rn.From != nil {
		ls.from = *rn.From
	}
	switch ls.from {
	case gatewayv1.NamespacesFromAll, gatewayv1.NamespacesFromSame, gatewayv1.NamespacesFromNone:
		return ""
	case gatewayv1.NamespacesFromSelector:
		if rn.Selector == nil {
			ls.from = gatewayv1.NamespacesFromNone
			return "allowedRoutes.namespaces.from is Selector but no selector is given"
		}
		sel, err := metav1.LabelSelectorAsSelector(rn.Selector)
		if err != nil {
			ls.from = gatewayv1.NamespacesFromNone
			return fmt.Sprintf("allowedRoutes.namespaces.selector is invalid: %v", err)
		}
		ls.selector = sel
		return ""
	}
	unknown := ls.from
	ls.from = gatewayv1.NamespacesFromNone
	return fmt.Sprintf("allowedRoutes.namespaces.from %q is not supported", unknown)
}

// allowsNamespace reports whether routes in ns may attach, per allowedRoutes.namespaces.
func (ls *listenerState) allowsNamespace(gwNamespace, ns string, idx *index) bool {
	switch ls.from {
	case gatewayv1.NamespacesFromAll:
		return true
	case gatewayv1.NamespacesFromSame:
		return ns == gwNamespace
	case gatewayv1.NamespacesFromSelector:
		return ls.selector.Matches(idx.namespaceLabels(ns))
	}
	return false
}

// markConflicts applies the Gateway API's distinctness rule to the HTTP and HTTPS
// listeners: on one port, listeners of different protocols all conflict
// (ProtocolConflict); listeners of one protocol conflict when they share a hostname
// (HostnameConflict). No conflicting listener wins: all of them are refused, and the
// others on the port keep working. Listeners of unsupported protocols are never served,
// so they conflict with nothing.
func markConflicts(listeners []*listenerState) {
	byPort := make(map[gatewayv1.PortNumber][]*listenerState)
	var ports []gatewayv1.PortNumber
	for _, l := range listeners {
		if !l.served {
			continue
		}
		if _, ok := byPort[l.spec.Port]; !ok {
			ports = append(ports, l.spec.Port)
		}
		byPort[l.spec.Port] = append(byPort[l.spec.Port], l)
	}
	for _, port := range ports {
		group := byPort[port]
		if len(group) < 2 {
			continue
		}
		protocols := make(map[gatewayv1.ProtocolType]bool)
		for _, l := range group {
			protocols[l.spec.Protocol] = true
		}
		if len(protocols) > 1 {
			msg := fmt.Sprintf("listeners %s share port %d with different protocols", listenerNames(group), port)
			for _, l := range group {
				l.conflict(gatewayv1.ListenerReasonProtocolConflict, msg)
			}
			continue
		}
		byDomain := make(map[string][]*listenerState)
		for _, l := range group {
			byDomain[l.domain] = append(byDomain[l.domain], l)
		}
		for _, l := range group {
			same := byDomain[l.domain]
			if len(same) < 2 {
				continue
			}
			l.conflict(gatewayv1.ListenerReasonHostnameConflict,
				fmt.Sprintf("listeners %s share port %d and hostname %q", listenerNames(same), port, l.domain))
		}
	}
}

// conflict marks the listener conflicted, which also refuses it.
func (l *listenerState) conflict(reason gatewayv1.ListenerConditionReason, msg string) {
	l.conflicted = verdict{ok: true, reason: reason, message: msg}
	if l.accepted.ok {
		l.accepted = verdict{reason: reason, message: msg}
	}
}

// markOverlappingTLS flags HTTPS listeners on one port whose hostnames overlap (one
// contains the other), as the spec requires controllers to detect.
func markOverlappingTLS(listeners []*listenerState) {
	for i, a := range listeners {
		for _, b := range listeners[i+1:] {
			if a.spec.Protocol != gatewayv1.HTTPSProtocolType || b.spec.Protocol != gatewayv1.HTTPSProtocolType ||
				a.spec.Port != b.spec.Port || a.conflicted.ok || b.conflicted.ok {
				continue
			}
			if contains(a.domain, b.domain) || contains(b.domain, a.domain) {
				a.overlappingTLS, b.overlappingTLS = true, true
			}
		}
	}
}

func listenerNames(ls []*listenerState) string {
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = string(l.spec.Name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// status is the listener's status at the Gateway's generation.
func (l *listenerState) status(c *conditions) gatewayv1.ListenerStatus {
	set(c, string(gatewayv1.ListenerConditionAccepted), l.accepted.ok, l.accepted.reason, l.accepted.message)
	switch {
	case l.programmed():
		set(c, string(gatewayv1.ListenerConditionProgrammed), true, gatewayv1.ListenerReasonProgrammed,
			"Listener is in the data plane")
	case l.conflicted.ok:
		set(c, string(gatewayv1.ListenerConditionProgrammed), false, l.conflicted.reason, l.conflicted.message)
	case !l.accepted.ok:
		set(c, string(gatewayv1.ListenerConditionProgrammed), false, gatewayv1.ListenerReasonInvalid,
			"Listener is not accepted: "+l.accepted.message)
	default:
		set(c, string(gatewayv1.ListenerConditionProgrammed), false, gatewayv1.ListenerReasonInvalid,
			"Listener has no usable certificate: "+l.resolved.message())
	}
	if l.resolved.empty() {
		set(c, string(gatewayv1.ListenerConditionResolvedRefs), true, gatewayv1.ListenerReasonResolvedRefs,
			"All references are resolved")
	} else {
		set(c, string(gatewayv1.ListenerConditionResolvedRefs), false, l.resolved.reason, l.resolved.message())
	}
	set(c, string(gatewayv1.ListenerConditionConflicted), l.conflicted.ok, l.conflicted.reason, l.conflicted.message)
	if l.overlappingTLS {
		set(c, string(gatewayv1.ListenerConditionOverlappingTLSConfig), true, gatewayv1.ListenerReasonOverlappingHostnames,
			"Listener's hostname overlaps another HTTPS listener's on the same port")
	}
	return gatewayv1.ListenerStatus{
		Name:           l.spec.Name,
		SupportedKinds: l.kinds,
		AttachedRoutes: l.attachedRoutes,
		Conditions:     c.list,
	}
}
