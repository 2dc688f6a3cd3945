package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// FieldManager is the server-side apply field manager the source writes status as.
const FieldManager = "caddymesh"

// WriteStatus applies a controller's status to the object's status subresource with
// server-side apply (field manager "caddymesh"), through the status helpers: conditions keep
// their lastTransitionTime while their status is unchanged, an unchanged status is not
// written (no new resourceVersion, no event), and a route's entries of other controllers
// are kept. For a route, s.RouteParents is the controller's whole set of parents: its
// entries for parents not listed are removed.
//
// Only objects the source's collections hold are written, so that a source limited to some
// namespaces never writes outside them: any other object is mesh.ErrNoObject, as is one
// deleted from the server since the collection saw it. Writes go through the pooled
// source's own client and connections.
func (s *Source) WriteStatus(ctx context.Context, st mesh.Status) error {
	if err := st.Validate(); err != nil {
		return err
	}
	if s.loader == nil {
		return fmt.Errorf("%s %q: the source has not started: %w", st.Kind, st.Key(), mesh.ErrNoObject)
	}
	return s.loader.writeStatus(ctx, st)
}

func (l *loader) writeStatus(ctx context.Context, st mesh.Status) error {
	if store, ok := l.stores[st.Kind]; !ok || !store.has(st.Key()) {
		return fmt.Errorf("%s %q: %w", st.Kind, st.Key(), mesh.ErrNoObject)
	}
	select {
	case <-l.done:
		return fmt.Errorf("writing the status of %s %q: the source has stopped", st.Kind, st.Key())
	default:
	}
	var err error
	switch {
	case st.RouteParents != nil && st.Kind == model.HTTPRoutes:
		_, err = SetRouteParentStatuses[*gatewayv1.HTTPRoute](ctx, l.client, st.Namespace, st.Name, st.Controller, st.RouteParents, FieldManager)
	case st.RouteParents != nil && st.Kind == model.TLSRoutes:
		_, err = SetRouteParentStatuses[*gatewayv1.TLSRoute](ctx, l.client, st.Namespace, st.Name, st.Controller, st.RouteParents, FieldManager)
	case st.Gateway != nil:
		_, err = ApplyGatewayStatus(ctx, l.client, st.Namespace, st.Name, *st.Gateway, FieldManager)
	case st.GatewayClass != nil:
		_, err = ApplyGatewayClassStatus(ctx, l.client, st.Name, *st.GatewayClass, FieldManager)
	default:
		return fmt.Errorf("status of %s %q: nothing this source can write", st.Kind, st.Key())
	}
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s %q was deleted: %w", st.Kind, st.Key(), mesh.ErrNoObject)
	}
	return err
}

// Interface guards
var _ mesh.StatusWriter = (*Source)(nil)
