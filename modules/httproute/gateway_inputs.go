package httproute

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
	"github.com/caddymesh/caddymesh/modules/mesh"
	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// gatewayInputs are the collections a Gateway API translation reads.
type gatewayInputs struct {
	classes    collection.Collection[*gatewayv1.GatewayClass]
	gateways   collection.Collection[*gatewayv1.Gateway]
	routes     collection.Collection[*gatewayv1.HTTPRoute]
	services   collection.Collection[*corev1.Service]
	grants     collection.Collection[*gatewayv1.ReferenceGrant]
	namespaces collection.Collection[*corev1.Namespace]
	secrets    collection.Collection[*corev1.Secret]
	filters    collection.Collection[*gatewayv1alpha1.HTTPFilter]
}

func lookupGatewayInputs(reg *mesh.Registry, source string) (*gatewayInputs, error) {
	in := &gatewayInputs{}
	var err error
	get := func(kind string, dst func() error) {
		if err == nil {
			if e := dst(); e != nil {
				err = fmt.Errorf("%s: %w", kind, e)
			}
		}
	}
	name := func(kind string) string { return model.CollectionName(source, kind) }
	get(model.GatewayClasses, func() (e error) {
		in.classes, e = mesh.Get[*gatewayv1.GatewayClass](reg, name(model.GatewayClasses))
		return
	})
	get(model.Gateways, func() (e error) { in.gateways, e = mesh.Get[*gatewayv1.Gateway](reg, name(model.Gateways)); return })
	get(model.HTTPRoutes, func() (e error) { in.routes, e = mesh.Get[*gatewayv1.HTTPRoute](reg, name(model.HTTPRoutes)); return })
	get(model.Services, func() (e error) { in.services, e = mesh.Get[*corev1.Service](reg, name(model.Services)); return })
	get(model.ReferenceGrants, func() (e error) {
		in.grants, e = mesh.Get[*gatewayv1.ReferenceGrant](reg, name(model.ReferenceGrants))
		return
	})
	get(model.Namespaces, func() (e error) { in.namespaces, e = mesh.Get[*corev1.Namespace](reg, name(model.Namespaces)); return })
	get(model.TLSSecrets, func() (e error) { in.secrets, e = mesh.Get[*corev1.Secret](reg, name(model.TLSSecrets)); return })
	get(model.HTTPFilters, func() (e error) {
		in.filters, e = mesh.Get[*gatewayv1alpha1.HTTPFilter](reg, name(model.HTTPFilters))
		return
	})
	return in, err
}

func (in *gatewayInputs) all() []collection.Info {
	return []collection.Info{in.classes, in.gateways, in.routes, in.services, in.grants, in.namespaces, in.secrets, in.filters}
}

// watch calls changed after every write to any input. Calls come from the collections'
// own goroutines; changed must not block.
func (in *gatewayInputs) watch(changed func()) (cancel func()) {
	cancels := []func(){
		watchAny(in.classes, changed), watchAny(in.gateways, changed), watchAny(in.routes, changed),
		watchAny(in.services, changed), watchAny(in.grants, changed), watchAny(in.namespaces, changed),
		watchAny(in.secrets, changed), watchAny(in.filters, changed),
	}
	return func() {
		for _, c := range cancels {
			c()
		}
	}
}

func watchAny[T any](c collection.Collection[T], changed func()) func() {
	return c.WatchBatch(func([]collection.Event[T]) { changed() })
}

// snapshot reads the inputs' current items.
func (in *gatewayInputs) snapshot(base gatewayapi.Input) gatewayapi.Input {
	base.Now = metav1.Now()
	base.GatewayClasses = in.classes.List()
	base.Gateways = in.gateways.List()
	base.HTTPRoutes = in.routes.List()
	base.Services = in.services.List()
	base.ReferenceGrants = in.grants.List()
	base.Namespaces = in.namespaces.List()
	base.Secrets = in.secrets.List()
	base.HTTPFilters = in.filters.List()
	return base
}
