package file

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/mesh"
	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// kindStore is one kind's collection, with the item type hidden so the loader can treat all
// kinds alike.
type kindStore interface {
	reset(objs []model.Object)
	setError(err error)
	publish(p *mesh.Publisher) error
	// get returns the object the collection holds under key, if any.
	get(key string) (model.Object, bool)
}

type typedStore[T model.Object] struct {
	kind string
	s    *collection.Static[T]
}

func (t *typedStore[T]) reset(objs []model.Object) {
	items := make([]T, len(objs))
	for i, o := range objs {
		items[i] = o.(T)
	}
	t.s.Reset(items)
}

func (t *typedStore[T]) setError(err error) { t.s.SetError(err) }

func (t *typedStore[T]) publish(p *mesh.Publisher) error {
	return mesh.PublishCollection[T](p, t.kind, t.s)
}

func (t *typedStore[T]) get(key string) (model.Object, bool) {
	item, ok := t.s.Get(key)
	if !ok {
		return nil, false
	}
	return item, true
}

func newStore[T model.Object](source, kind string) kindStore {
	return &typedStore[T]{kind: kind, s: collection.NewStatic[T](collection.WithName(model.CollectionName(source, kind)))}
}

// newStores makes the source's collections: every kind the file source reads, so each exists
// (possibly empty) whatever the files hold.
func newStores(source string) map[string]kindStore {
	return map[string]kindStore{
		model.Services:        newStore[*corev1.Service](source, model.Services),
		model.EndpointSlices:  newStore[*discoveryv1.EndpointSlice](source, model.EndpointSlices),
		model.Pods:            newStore[*corev1.Pod](source, model.Pods),
		model.Namespaces:      newStore[*corev1.Namespace](source, model.Namespaces),
		model.Meshlets:        newStore[*meshlessv1.Meshlet](source, model.Meshlets),
		model.GatewayClasses:  newStore[*gatewayv1.GatewayClass](source, model.GatewayClasses),
		model.Gateways:        newStore[*gatewayv1.Gateway](source, model.Gateways),
		model.HTTPRoutes:      newStore[*gatewayv1.HTTPRoute](source, model.HTTPRoutes),
		model.TLSRoutes:       newStore[*gatewayv1.TLSRoute](source, model.TLSRoutes),
		model.ReferenceGrants: newStore[*gatewayv1.ReferenceGrant](source, model.ReferenceGrants),
		model.TLSSecrets:      newStore[*corev1.Secret](source, model.TLSSecrets),
		model.HTTPFilters:     newStore[*gatewayv1alpha1.HTTPFilter](source, model.HTTPFilters),
	}
}
