package mesh

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// Registry holds the app's collections by name ("<source>/<kind>"). Sources publish into it
// while the app provisions; consumers look collections up by name and type.
type Registry struct {
	mu      sync.RWMutex
	entries map[string]entry
	kinds   map[string]kindInfo // kind → its Go type and how to merge it
}

type entry struct {
	source, kind string
	col          collection.Info
	keyOf        func(any) string // the collection's KeyOf, untyped, for the admin API's sort
}

func untypedKey[T any](c collection.Collection[T]) func(any) string {
	return func(item any) string { return c.KeyOf(item.(T)) }
}

// kindInfo remembers a kind's item type, so every source publishing it must agree, and how
// to build the merged view over its collections without knowing the type statically.
type kindInfo struct {
	typ   reflect.Type
	merge func(name string, inputs []collection.Info) (merged entry, stop func())
}

func newRegistry() *Registry {
	return &Registry{entries: make(map[string]entry), kinds: make(map[string]kindInfo)}
}

// Publish adds a typed collection under "<source>/<kind>". Publishing a kind fixes its item
// type: another source publishing the same kind with another type is an error.
func Publish[T any](r *Registry, source, kind string, c collection.Collection[T]) error {
	if source == "" || kind == "" {
		return fmt.Errorf("publishing %q/%q: source and kind must not be empty", source, kind)
	}
	if err := declareKind[T](r, kind); err != nil {
		return fmt.Errorf("publishing %s: %w", model.CollectionName(source, kind), err)
	}
	return r.add(entry{source: source, kind: kind, col: c, keyOf: untypedKey(c)})
}

// Register adds a collection under a full name, for consumers and user code that want their
// own (derived) collections visible in the admin API and metrics. The name must have the
// "<source>/<kind>" form and must not use a source name that already published.
func Register[T any](r *Registry, name string, c collection.Collection[T]) error {
	source, kind, ok := model.SplitCollectionName(name)
	if !ok || source == "" || kind == "" {
		return fmt.Errorf("registering collection %q: name must be <source>/<kind>", name)
	}
	return r.add(entry{source: source, kind: kind, col: c, keyOf: untypedKey(c)})
}

func (r *Registry) add(e entry) error {
	name := model.CollectionName(e.source, e.kind)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.entries[name]; dup {
		return fmt.Errorf("collection %q is already registered", name)
	}
	r.entries[name] = e
	return nil
}

// declareKind records T as kind's item type, or checks that it is.
func declareKind[T any](r *Registry, kind string) error {
	typ := reflect.TypeFor[T]()
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.kinds[kind]; ok {
		if k.typ != typ {
			return fmt.Errorf("kind %q holds %s, not %s", kind, k.typ, typ)
		}
		return nil
	}
	r.kinds[kind] = kindInfo{typ: typ, merge: func(name string, inputs []collection.Info) (entry, func()) {
		typed := make([]collection.Collection[T], len(inputs))
		for i, in := range inputs {
			typed[i] = in.(collection.Collection[T])
		}
		m := collection.Merge(typed, collection.WithName(name))
		return entry{source: model.MergedSource, kind: kind, col: m, keyOf: untypedKey[T](m)}, m.Stop
	}}
	return nil
}

// buildMerged publishes "merged/<kind>" for every declared kind: the union of every source's
// collection of that kind, sources taking precedence in name order. It returns a function
// that detaches the merged views.
func (r *Registry) buildMerged() (stop func(), err error) {
	r.mu.RLock()
	inputs := make(map[string][]entry) // kind → the sources' collections of it
	for _, e := range r.entries {
		if _, declared := r.kinds[e.kind]; declared && e.source != model.MergedSource {
			inputs[e.kind] = append(inputs[e.kind], e)
		}
	}
	kinds := make(map[string]kindInfo, len(r.kinds))
	for k, v := range r.kinds {
		kinds[k] = v
	}
	r.mu.RUnlock()

	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
	}
	for kind, info := range kinds {
		es := inputs[kind]
		slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.source, b.source) })
		cols := make([]collection.Info, len(es))
		for i, e := range es {
			cols[i] = e.col
		}
		merged, stopMerged := info.merge(model.CollectionName(model.MergedSource, kind), cols)
		stops = append(stops, stopMerged)
		if err := r.add(merged); err != nil {
			stop()
			return nil, err
		}
	}
	return stop, nil
}

// Lookup returns the collection with the name, untyped.
func (r *Registry) Lookup(name string) (collection.Info, bool) {
	e, ok := r.lookup(name)
	return e.col, ok
}

func (r *Registry) lookup(name string) (entry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.entries[name]
	return e, ok
}

// Names returns every collection name, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.entries))
	for n := range r.entries {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Get returns the collection with the name and item type T.
func Get[T any](r *Registry, name string) (collection.Collection[T], error) {
	info, ok := r.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("collection %q not found", name)
	}
	c, ok := info.(collection.Collection[T])
	if !ok {
		return nil, fmt.Errorf("collection %q holds %s, not %s", name, itemType(info), reflect.TypeFor[T]())
	}
	return c, nil
}

// itemType names the item type of an untyped collection, for error messages.
func itemType(info collection.Info) string {
	if m, ok := reflect.TypeOf(info).MethodByName("Get"); ok && m.Type.NumOut() == 2 {
		return m.Type.Out(0).String()
	}
	return fmt.Sprintf("%T", info)
}
