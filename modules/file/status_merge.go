package file

import (
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
		// The store keeps one status per controller, so every entry is this controller's.
		out.RouteParents = mesh.SetControllerParents(asController(old, desired.Controller), asController(desired.RouteParents, desired.Controller),
			desired.Controller, desired.Namespace, generation)
	case desired.Gateway != nil:
		var old gatewayv1.GatewayStatus
		if prev != nil && prev.Gateway != nil {
			old = *prev.Gateway
		}
		gw := mesh.MergeGatewayStatus(old, *desired.Gateway, generation)
		out.Gateway = &gw
	case desired.GatewayClass != nil:
		gc := desired.GatewayClass.DeepCopy()
		var old []metav1.Condition
		if prev != nil && prev.GatewayClass != nil {
			old = prev.GatewayClass.Conditions
		}
		gc.Conditions = mesh.MergeConditions(old, gc.Conditions, generation)
		out.GatewayClass = gc
	}
	return out
}

// asController returns copies of parents with controller as their controllerName.
func asController(parents []gatewayv1.RouteParentStatus, controller gatewayv1.GatewayController) []gatewayv1.RouteParentStatus {
	out := make([]gatewayv1.RouteParentStatus, len(parents))
	for i, p := range parents {
		out[i] = *p.DeepCopy()
		out[i].ControllerName = controller
	}
	return out
}
