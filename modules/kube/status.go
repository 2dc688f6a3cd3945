package kube

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/util/retry"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

// Status writers for Gateway API controllers (such as a router reporting which routes it
// accepted). Each reads the object, merges the caller's status into it by the rules of
// meta.SetStatusCondition (a condition keeps its lastTransitionTime while its status is
// unchanged; observedGeneration defaults to the object's generation), and writes only if
// something changed, with server-side apply on the status subresource. Re-reporting an
// unchanged status therefore costs one read and no write: the resourceVersion does not
// move, and watchers see no event.
//
// The write is made at the resourceVersion read, and retried from a fresh read on a
// Conflict, so that concurrent writers (other controllers, or other replicas) cannot undo
// each other's changes. It is forced: a controller owns the status it reports, even
// fields another manager (kubectl, the CRD's defaults) wrote before.

// Route is a Gateway API route type whose status.parents the route helpers write.
type Route interface {
	*gatewayv1.HTTPRoute | *gatewayv1.GRPCRoute | *gatewayv1.TLSRoute
	Object
}

// routeStatus returns the RouteStatus inside any Route.
func routeStatus[T Route](r T) *gatewayv1.RouteStatus {
	switch r := any(r).(type) {
	case *gatewayv1.HTTPRoute:
		return &r.Status.RouteStatus
	case *gatewayv1.GRPCRoute:
		return &r.Status.RouteStatus
	case *gatewayv1.TLSRoute:
		return &r.Status.RouteStatus
	}
	panic(fmt.Sprintf("routeStatus: %T is not a route", r)) // unreachable: the constraint lists the types
}

// ApplyHTTPRouteParentStatus sets one parent's entry in an HTTPRoute's status.parents:
// the entry with the same parentRef (defaults filled in: group gateway.networking.k8s.io,
// kind Gateway, the route's namespace) and controllerName is replaced, or the entry is
// added. Entries of other parents and other controllers are left as they are.
//
// status.parents is an atomic list (x-kubernetes-list-type: atomic): server-side apply
// replaces it whole, so the whole list read is sent back with the one entry changed, at
// the resourceVersion read; a concurrent change makes the write fail and start again.
func ApplyHTTPRouteParentStatus(ctx context.Context, c *Client, namespace, name string, parent gatewayv1.RouteParentStatus, fieldManager string) (*gatewayv1.HTTPRoute, error) {
	return ApplyRouteParentStatus[*gatewayv1.HTTPRoute](ctx, c, namespace, name, parent, fieldManager)
}

// ApplyRouteParentStatus is ApplyHTTPRouteParentStatus for any route type.
func ApplyRouteParentStatus[T Route](ctx context.Context, c *Client, namespace, name string, parent gatewayv1.RouteParentStatus, fieldManager string) (T, error) {
	if parent.ControllerName == "" || parent.ParentRef.Name == "" {
		var zero T
		return zero, opError("setting the parent status of", typeName[T](), namespace, name, errors.New("a parent status needs a controllerName and a parentRef name"))
	}
	return editRouteParents[T](ctx, c, namespace, name, fieldManager, func(current []gatewayv1.RouteParentStatus, generation int64) []gatewayv1.RouteParentStatus {
		return mesh.MergeParent(current, parent, namespace, generation)
	})
}

// RemoveHTTPRouteParentStatus removes the entry of parentRef written by controller from an
// HTTPRoute's status.parents, for a controller that no longer handles that parent. It
// is a no-op if there is no such entry.
func RemoveHTTPRouteParentStatus(ctx context.Context, c *Client, namespace, name string, parentRef gatewayv1.ParentReference, controller gatewayv1.GatewayController, fieldManager string) (*gatewayv1.HTTPRoute, error) {
	return RemoveRouteParentStatus[*gatewayv1.HTTPRoute](ctx, c, namespace, name, parentRef, controller, fieldManager)
}

// RemoveRouteParentStatus is RemoveHTTPRouteParentStatus for any route type.
func RemoveRouteParentStatus[T Route](ctx context.Context, c *Client, namespace, name string, parentRef gatewayv1.ParentReference, controller gatewayv1.GatewayController, fieldManager string) (T, error) {
	return editRouteParents[T](ctx, c, namespace, name, fieldManager, func(current []gatewayv1.RouteParentStatus, _ int64) []gatewayv1.RouteParentStatus {
		return mesh.RemoveParent(current, parentRef, controller, namespace)
	})
}

// SetRouteParentStatuses makes controller's entries in a route's status.parents exactly
// parents, in one read and at most one apply: each parent is set as ApplyRouteParentStatus
// sets one, and the entries controller wrote before for parents not listed are removed
// (an empty list removes them all). Other controllers' entries are left as they are. An
// entry with no controllerName gets controller; one naming another controller is refused.
func SetRouteParentStatuses[T Route](ctx context.Context, c *Client, namespace, name string, controller gatewayv1.GatewayController, parents []gatewayv1.RouteParentStatus, fieldManager string) (T, error) {
	own, err := mesh.OwnedParents(controller, parents)
	if err != nil {
		var zero T
		return zero, opError("setting the parent statuses of", typeName[T](), namespace, name, err)
	}
	return editRouteParents[T](ctx, c, namespace, name, fieldManager, func(current []gatewayv1.RouteParentStatus, generation int64) []gatewayv1.RouteParentStatus {
		return mesh.SetControllerParents(current, own, controller, namespace, generation)
	})
}

// editRouteParents applies edit's version of a route's status.parents.
func editRouteParents[T Route](ctx context.Context, c *Client, namespace, name, fieldManager string, edit func([]gatewayv1.RouteParentStatus, int64) []gatewayv1.RouteParentStatus) (T, error) {
	return readModifyApplyStatus(ctx, c, namespace, name, fieldManager, func(current T) (T, bool) {
		parents := edit(routeStatus(current).Parents, current.GetGeneration())
		if equality.Semantic.DeepEqual(parents, routeStatus(current).Parents) {
			return current, false
		}
		out, _ := newObject[T]()
		routeStatus(out).Parents = parents // never nil: an empty list is sent as [], not null
		return out, true
	})
}

// ApplyGatewayStatus sets a Gateway's status: its conditions (such as Accepted and
// Programmed), addresses and listeners (with attachedRoutes and their own conditions).
// status is the whole status this controller reports: conditions and listeners it
// reported before and leaves out now are removed (server-side apply drops fields their
// only manager no longer applies). Listeners' required lists may be left nil.
func ApplyGatewayStatus(ctx context.Context, c *Client, namespace, name string, status gatewayv1.GatewayStatus, fieldManager string) (*gatewayv1.Gateway, error) {
	return readModifyApplyStatus(ctx, c, namespace, name, fieldManager, func(current *gatewayv1.Gateway) (*gatewayv1.Gateway, bool) {
		merged := mesh.MergeGatewayStatus(current.Status, status, current.Generation)
		if equality.Semantic.DeepEqual(merged, current.Status) {
			return current, false
		}
		return &gatewayv1.Gateway{Status: merged}, true
	})
}

// ApplyGatewayClassStatus sets a GatewayClass's status: its conditions (such as Accepted)
// and supported features, as ApplyGatewayStatus does for a Gateway.
func ApplyGatewayClassStatus(ctx context.Context, c *Client, name string, status gatewayv1.GatewayClassStatus, fieldManager string) (*gatewayv1.GatewayClass, error) {
	return readModifyApplyStatus(ctx, c, "", name, fieldManager, func(current *gatewayv1.GatewayClass) (*gatewayv1.GatewayClass, bool) {
		merged := *status.DeepCopy()
		merged.Conditions = mesh.MergeConditions(current.Status.Conditions, status.Conditions, current.Generation)
		if equality.Semantic.DeepEqual(merged, current.Status) {
			return current, false
		}
		return &gatewayv1.GatewayClass{Status: merged}, true
	})
}

// readModifyApplyStatus reads an object, asks build for the object carrying the status to
// apply (and whether it differs from what was read), and applies that status at the
// resourceVersion read, forcing ownership. A Conflict (the object changed in between)
// starts again from a fresh read.
func readModifyApplyStatus[T Object](ctx context.Context, c *Client, namespace, name, fieldManager string, build func(current T) (T, bool)) (T, error) {
	var result T
	if fieldManager == "" {
		return result, opError("applying the status of", typeName[T](), namespace, name, errors.New("server-side apply needs a field manager"))
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current, err := Get[T](ctx, c, namespace, name, GetOptions{})
		if err != nil {
			return err
		}
		obj, changed := build(current)
		if !changed {
			result = current
			return nil
		}
		obj.SetNamespace(namespace)
		obj.SetName(name)
		obj.SetResourceVersion(current.GetResourceVersion())
		result, err = ApplyStatus(ctx, c, obj, ApplyOptions{FieldManager: fieldManager, Force: true})
		return err
	})
	return result, err
}
