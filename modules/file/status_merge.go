package file

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

// The pure part of the file source's status keeping: merging a controller's new status into
// the one it recorded before, by the rules a Kubernetes status follows, so that the admin
// API shows what the same controller would have written to a cluster.

// mergeStatus returns desired, deep-copied, with each condition's lastTransitionTime kept
// from prev (the status this controller recorded before; nil for none) while its status is
// unchanged, as meta.SetStatusCondition does, and observedGeneration defaulted to
// generation. For route parents, desired is the controller's whole set: entries of prev
// for parents not listed are dropped. A parent listed twice keeps the last entry, in the
// first one's place.
func mergeStatus(prev *mesh.Status, desired mesh.Status, generation int64) mesh.Status {
	out := mesh.Status{Kind: desired.Kind, Namespace: desired.Namespace, Name: desired.Name, Controller: desired.Controller}
	switch {
	case desired.RouteParents != nil:
		var old []gatewayv1.RouteParentStatus
		if prev != nil {
			old = prev.RouteParents
		}
		out.RouteParents = mergeParents(old, desired.RouteParents, desired.Namespace, generation)
	case desired.Gateway != nil:
		var old gatewayv1.GatewayStatus
		if prev != nil && prev.Gateway != nil {
			old = *prev.Gateway
		}
		out.Gateway = mergeGateway(old, *desired.Gateway, generation)
	case desired.GatewayClass != nil:
		gc := desired.GatewayClass.DeepCopy()
		var old []metav1.Condition
		if prev != nil && prev.GatewayClass != nil {
			old = prev.GatewayClass.Conditions
		}
		gc.Conditions = mergeConditions(old, gc.Conditions, generation)
		out.GatewayClass = gc
	}
	return out
}

// mergeConditions returns desired with lastTransitionTime kept from current for each
// condition whose status did not change (and set to now for the others when the caller
// left it zero), and observedGeneration defaulted to generation. Conditions of current
// not in desired are dropped: desired is the whole set the controller reports.
func mergeConditions(current, desired []metav1.Condition, generation int64) []metav1.Condition {
	if desired == nil {
		return nil
	}
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

// mergeParents merges each desired parent entry with the recorded entry of the same parent.
func mergeParents(current, desired []gatewayv1.RouteParentStatus, routeNamespace string, generation int64) []gatewayv1.RouteParentStatus {
	out := make([]gatewayv1.RouteParentStatus, 0, len(desired))
	at := make(map[parentRefKey]int, len(desired))
	for _, want := range desired {
		key := keyOfParentRef(want.ParentRef, routeNamespace)
		var old []metav1.Condition
		for _, c := range current {
			if keyOfParentRef(c.ParentRef, routeNamespace) == key {
				old = c.Conditions
				break
			}
		}
		entry := *want.DeepCopy()
		entry.Conditions = mergeConditions(old, want.Conditions, generation)
		if i, dup := at[key]; dup {
			out[i] = entry
			continue
		}
		at[key] = len(out)
		out = append(out, entry)
	}
	return out
}

// mergeGateway merges a Gateway's conditions, and each listener's with the recorded
// listener of the same name.
func mergeGateway(current, desired gatewayv1.GatewayStatus, generation int64) *gatewayv1.GatewayStatus {
	out := desired.DeepCopy()
	out.Conditions = mergeConditions(current.Conditions, out.Conditions, generation)
	for i := range out.Listeners {
		l := &out.Listeners[i]
		var old []metav1.Condition
		for _, cl := range current.Listeners {
			if cl.Name == l.Name {
				old = cl.Conditions
			}
		}
		l.Conditions = mergeConditions(old, l.Conditions, generation)
	}
	return out
}

// parentRefKey identifies a route's parent, with the Gateway API's defaults filled in so
// that equal references compare equal however they are written.
type parentRefKey struct {
	group, kind, namespace, name, section string
	port                                  int32
}

func keyOfParentRef(ref gatewayv1.ParentReference, routeNamespace string) parentRefKey {
	k := parentRefKey{group: gatewayv1.GroupName, kind: "Gateway", namespace: routeNamespace, name: string(ref.Name)}
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

// ownParents returns s's route parents with each entry's controllerName set to the
// status's controller, or an error if an entry names another controller: a controller
// reports for itself only.
func ownParents(s mesh.Status) ([]gatewayv1.RouteParentStatus, error) {
	out := make([]gatewayv1.RouteParentStatus, len(s.RouteParents))
	for i, p := range s.RouteParents {
		switch p.ControllerName {
		case "":
			p.ControllerName = s.Controller
		case s.Controller:
		default:
			return nil, fmt.Errorf("status of %s %q: parent %d is reported by %q, not by the status's controller %q",
				s.Kind, s.Key(), i, p.ControllerName, s.Controller)
		}
		if p.ParentRef.Name == "" {
			return nil, fmt.Errorf("status of %s %q: parent %d has no parentRef name", s.Kind, s.Key(), i)
		}
		out[i] = p
	}
	return out, nil
}
