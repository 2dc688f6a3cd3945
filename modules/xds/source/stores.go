package source

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/xds"
	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// typeStore is one xDS type's collection, with the view type hidden so the stream loop can
// treat all types alike.
type typeStore interface {
	apply(upserts map[string]resource.Resource, removed []string) error
	setError(err error)
	markSynced()
	publish(p *mesh.Publisher) error
}

type viewStore[V resource.Resource] struct {
	kind string
	s    *collection.Static[V]
}

func newViewStore[V resource.Resource](source string, t xds.TypeURL) *viewStore[V] {
	kind := t.Kind()
	return &viewStore[V]{kind: kind, s: collection.NewStatic[V](
		collection.WithName(source+"/"+kind),
		collection.WithKey(func(v V) string { return v.Name() }),
		// A resource re-sent unchanged has the same bytes: comparing them is exact for
		// go-control-plane's deterministic marshalling and cheap for everyone else (an
		// unequal encoding of an equal resource only costs a redundant update).
		collection.WithEqual(func(a, b V) bool { return bytes.Equal(a.Raw(), b.Raw()) }),
	)}
}

func (v *viewStore[V]) apply(upserts map[string]resource.Resource, removed []string) error {
	items := make([]V, 0, len(upserts))
	names := make([]string, 0, len(upserts))
	for name := range upserts {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic event order
	for _, name := range names {
		typed, ok := upserts[name].(V)
		if !ok {
			return fmt.Errorf("resource %q of kind %s has view type %T", name, v.kind, upserts[name])
		}
		items = append(items, typed)
	}
	v.s.Upsert(items...)
	v.s.Delete(removed...)
	return nil
}

func (v *viewStore[V]) setError(err error) { v.s.SetError(err) }
func (v *viewStore[V]) markSynced()        { v.s.MarkSynced() }

func (v *viewStore[V]) publish(p *mesh.Publisher) error {
	return mesh.PublishCollection[V](p, v.kind, v.s)
}

// newStores makes one collection per built-in xDS type, whether subscribed or not, so that
// consumers always find them, and one per custom type subscribed to. A custom type's kind
// is derived from its message name (xds.TypeURL.Kind) and holds *xds.CustomResource.
func newStores(source string, subs []subscription) map[xds.TypeURL]typeStore {
	stores := map[xds.TypeURL]typeStore{
		xds.ListenerType: newViewStore[*resource.Listener](source, xds.ListenerType),
		xds.ClusterType:  newViewStore[*resource.Cluster](source, xds.ClusterType),
		xds.RouteType:    newViewStore[*resource.RouteConfiguration](source, xds.RouteType),
		xds.EndpointType: newViewStore[*resource.ClusterLoadAssignment](source, xds.EndpointType),
		xds.SecretType:   newViewStore[*resource.Secret](source, xds.SecretType),
	}
	for _, sub := range subs {
		if _, ok := stores[sub.typeURL]; !ok {
			stores[sub.typeURL] = newViewStore[*xds.CustomResource](source, sub.typeURL)
		}
	}
	return stores
}

// rejection describes the resources a response had rejected, for a collection's last error.
func rejection(ev xds.Event) error {
	names := make([]string, 0, len(ev.Rejected))
	for n := range ev.Rejected {
		names = append(names, n)
	}
	sort.Strings(names)
	errs := make([]error, 0, len(names))
	for _, n := range names {
		errs = append(errs, fmt.Errorf("NACK version %q nonce %q: %s: %w", ev.Version, ev.Nonce, n, ev.Rejected[n]))
	}
	return errors.Join(errs...)
}
