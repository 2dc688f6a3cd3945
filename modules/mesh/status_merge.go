package mesh

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Merging a controller's desired status into the one recorded before, by the rules of
// apimachinery's meta.SetStatusCondition and of the Gateway API's status fields: what every
// StatusWriter does, whether it writes to an API server (the Kubernetes source) or keeps
// the status itself (the file source). Pure functions of values, tested without a server.

// MergeConditions returns desired, with each condition's lastTransitionTime kept from
// current when its status has not changed (meta.SetStatusCondition's rule) and its
// observedGeneration defaulted to generation. Conditions of current not in desired are
// dropped: desired is the whole set the caller manages.
func MergeConditions(current, desired []metav1.Condition, generation int64) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(desired))
	for _, d := range desired {
		if d.ObservedGeneration == 0 {
			d.ObservedGeneration = generation
		}
		if old := meta.FindStatusCondition(current, d.Type); old != nil && meta.FindStatusCondition(out, d.Type) == nil {
			out = append(out, *old)
		}
		meta.SetStatusCondition(&out, d)
	}
	return out
}

// ParentKey identifies a route's parent entry: the parent reference, with the Gateway
// API's defaults filled in so that equal references compare equal however they are
// written, and the controller that wrote the entry.
type ParentKey struct {
	group, kind, namespace, name, section string
	port                                  int32
	controller                            gatewayv1.GatewayController
}

func ParentKeyOf(p gatewayv1.RouteParentStatus, routeNamespace string) ParentKey {
	ref := p.ParentRef
	k := ParentKey{
		group:      gatewayv1.GroupName,
		kind:       "Gateway",
		namespace:  routeNamespace,
		name:       string(ref.Name),
		controller: p.ControllerName,
	}
	if ref.Group != nil { // "" is the core group (a Service parent), not the default
		k.group = string(*ref.Group)
	}
	if ref.Kind != nil {
		k.kind = string(*ref.Kind)
	}
	if ref.Namespace != nil {
		k.namespace = string(*ref.Namespace)
	}
	if ref.SectionName != nil {
		k.section = string(*ref.SectionName)
	}
	if ref.Port != nil {
		k.port = *ref.Port
	}
	return k
}

// MergeParent returns current with want set: the entry of the same parent and controller
// replaced (its conditions merged by MergeConditions), or want appended. Other entries,
// including other controllers' entries for the same parent, are kept as they are and
// where they are.
func MergeParent(current []gatewayv1.RouteParentStatus, want gatewayv1.RouteParentStatus, routeNamespace string, generation int64) []gatewayv1.RouteParentStatus {
	key := ParentKeyOf(want, routeNamespace)
	out := make([]gatewayv1.RouteParentStatus, 0, len(current)+1)
	found := false
	for _, p := range current {
		if !found && ParentKeyOf(p, routeNamespace) == key {
			found = true
			entry := *want.DeepCopy()
			// The server's form of the same reference (the CRD defaults group and
			// kind), so that an unchanged entry compares equal and is not written.
			entry.ParentRef = *p.ParentRef.DeepCopy()
			entry.Conditions = MergeConditions(p.Conditions, want.Conditions, generation)
			out = append(out, entry)
			continue
		}
		out = append(out, p)
	}
	if !found {
		entry := *want.DeepCopy()
		entry.Conditions = MergeConditions(nil, want.Conditions, generation)
		out = append(out, entry)
	}
	return out
}

// RemoveParent returns current without the entry of ref written by controller.
func RemoveParent(current []gatewayv1.RouteParentStatus, ref gatewayv1.ParentReference, controller gatewayv1.GatewayController, routeNamespace string) []gatewayv1.RouteParentStatus {
	key := ParentKeyOf(gatewayv1.RouteParentStatus{ParentRef: ref, ControllerName: controller}, routeNamespace)
	out := make([]gatewayv1.RouteParentStatus, 0, len(current))
	for _, p := range current {
		if ParentKeyOf(p, routeNamespace) != key {
			out = append(out, p)
		}
	}
	return out
}

// OwnedParents returns a copy of parents with each entry's controllerName set to
// controller, or why it cannot: no controller, an entry of another controller, or an entry
// without a parent name.
func OwnedParents(controller gatewayv1.GatewayController, parents []gatewayv1.RouteParentStatus) ([]gatewayv1.RouteParentStatus, error) {
	if controller == "" {
		return nil, errors.New("no controller name")
	}
	own := make([]gatewayv1.RouteParentStatus, len(parents))
	for i, p := range parents {
		if p.ControllerName != "" && p.ControllerName != controller {
			return nil, fmt.Errorf("parent %d is reported by %q, not by %q", i, p.ControllerName, controller)
		}
		if p.ParentRef.Name == "" {
			return nil, fmt.Errorf("parent %d has no parentRef name", i)
		}
		own[i] = *p.DeepCopy()
		own[i].ControllerName = controller
	}
	return own, nil
}

// SetControllerParents returns current with controller's entries made exactly want: each
// entry of want set by MergeParent, and controller's entries for parents not in want
// removed. Other controllers' entries are kept as they are and where they are. Every entry
// of want must carry controller as its controllerName.
func SetControllerParents(current, want []gatewayv1.RouteParentStatus, controller gatewayv1.GatewayController, routeNamespace string, generation int64) []gatewayv1.RouteParentStatus {
	keep := make(map[ParentKey]bool, len(want))
	for _, w := range want {
		keep[ParentKeyOf(w, routeNamespace)] = true
	}
	out := make([]gatewayv1.RouteParentStatus, 0, len(current)+len(want))
	for _, p := range current {
		if p.ControllerName == controller && !keep[ParentKeyOf(p, routeNamespace)] {
			continue
		}
		out = append(out, p)
	}
	for _, w := range want {
		out = MergeParent(out, w, routeNamespace, generation)
	}
	return out
}

// MergeGatewayStatus returns desired with its conditions, and each listener's, merged
// with current's by MergeConditions. It also fills the listener lists the CRD requires
// (supportedKinds, conditions) when desired leaves them nil, since a nil list would be
// sent as null.
func MergeGatewayStatus(current, desired gatewayv1.GatewayStatus, generation int64) gatewayv1.GatewayStatus {
	out := *desired.DeepCopy()
	out.Conditions = MergeConditions(current.Conditions, desired.Conditions, generation)
	for i := range out.Listeners {
		l := &out.Listeners[i]
		var old []metav1.Condition
		for _, cl := range current.Listeners {
			if cl.Name == l.Name {
				old = cl.Conditions
			}
		}
		l.Conditions = MergeConditions(old, l.Conditions, generation)
		if l.SupportedKinds == nil {
			l.SupportedKinds = []gatewayv1.RouteGroupKind{}
		}
	}
	return out
}
