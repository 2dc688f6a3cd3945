package mesh

import (
	"context"
	"errors"
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// StatusWriter is implemented by sources that can carry a controller's status back to where
// an object came from: the Kubernetes source applies it to the object's status subresource
// with server-side apply; the file source keeps it in memory and shows it in the admin API
// (GET /mesh/status). Consumers (the HTTP router's Gateway controller) never see a source:
// they call [App.WriteStatus], which finds the sources holding the object.
type StatusWriter interface {
	// WriteStatus records s for the object (s.Kind, s.Namespace, s.Name) if the source
	// holds it; it returns [ErrNoObject] if it does not. Writing a status equal to the one
	// recorded must not cause a write (nor an event) at the source.
	WriteStatus(ctx context.Context, s Status) error
}

// StatusLister is implemented by sources that keep the statuses written to them where no
// one else can see them (the file source keeps them in memory), so that the admin API can
// show them: GET /mesh/status lists, per source, what Statuses returns.
type StatusLister interface {
	// Statuses returns every status the source holds, in any order. The result is the
	// caller's: the source must not change it afterwards.
	Statuses() []Status
}

// ErrNoObject is what a StatusWriter returns for an object it does not hold.
var ErrNoObject = errors.New("no such object in this source")

// Status is the status one controller reports for one object. Exactly one of RouteParents,
// Gateway and GatewayClass is set, matching Kind.
type Status struct {
	// Kind is the object's collection kind: model.HTTPRoutes, model.Gateways or
	// model.GatewayClasses.
	Kind string
	// Namespace and Name identify the object; Namespace is empty for cluster-scoped kinds.
	Namespace, Name string
	// Controller is the reporting controller, such as "caddymesh.io/gateway": a route's
	// parent entries are owned per controller.
	Controller gatewayv1.GatewayController

	// RouteParents is the whole set of parents this controller reports on for a route.
	// Entries this controller wrote before for parents not listed are removed; entries of
	// other controllers are kept.
	RouteParents []gatewayv1.RouteParentStatus
	// Gateway is a Gateway's status: conditions, addresses and listeners.
	Gateway *gatewayv1.GatewayStatus
	// GatewayClass is a GatewayClass's status.
	GatewayClass *gatewayv1.GatewayClassStatus
}

// Key is the object's collection key.
func (s Status) Key() string { return model.Key(s.Namespace, s.Name) }

// Validate checks that the status is well formed.
func (s Status) Validate() error {
	set := 0
	if s.RouteParents != nil {
		set++
	}
	if s.Gateway != nil {
		set++
	}
	if s.GatewayClass != nil {
		set++
	}
	switch {
	case s.Name == "" || s.Controller == "":
		return fmt.Errorf("status of %s %q: needs a name and a controller", s.Kind, s.Key())
	case set != 1:
		return fmt.Errorf("status of %s %q: exactly one of route parents, gateway and gateway class must be set", s.Kind, s.Key())
	case s.RouteParents != nil && s.Kind != model.HTTPRoutes && s.Kind != model.TLSRoutes:
		return fmt.Errorf("status of %s %q: route parents on a kind that is not a route", s.Kind, s.Key())
	case s.Gateway != nil && s.Kind != model.Gateways:
		return fmt.Errorf("status of %s %q: a gateway status on another kind", s.Kind, s.Key())
	case s.GatewayClass != nil && s.Kind != model.GatewayClasses:
		return fmt.Errorf("status of %s %q: a gateway class status on another kind", s.Kind, s.Key())
	}
	return nil
}

// statusWriters returns the app's sources that write status, by name.
func (a *App) statusWriters() map[string]StatusWriter {
	out := make(map[string]StatusWriter)
	for name, src := range a.sources {
		if w, ok := src.(StatusWriter); ok {
			out[name] = w
		}
	}
	return out
}

// WriteStatus hands s to every source that holds the object and writes status. It is not an
// error for no source to hold it (the object may have been deleted since the caller read
// it); the errors of sources that failed are joined.
func (a *App) WriteStatus(ctx context.Context, s Status) error {
	if err := s.Validate(); err != nil {
		return err
	}
	var errs []error
	for name, w := range a.statusWriters() {
		if err := w.WriteStatus(ctx, s); err != nil && !errors.Is(err, ErrNoObject) {
			errs = append(errs, fmt.Errorf("source %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
