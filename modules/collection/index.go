package collection

import (
	"slices"
	"sync"
)

// Index looks up a collection's items by secondary keys, such as the EndpointSlices of a
// Service or the Pods of a node. It follows its input as a derived collection does.
type Index[K comparable, T any] struct {
	stop func()
	in   Collection[T]

	mu     sync.RWMutex // guards the fields below
	byKey  map[K]map[string]T
	keysOf map[string][]K
	synced bool
}

// NewIndex indexes in by the keys f returns for each item.
func NewIndex[K comparable, T any](in Collection[T], f func(T) []K) *Index[K, T] {
	x := &Index[K, T]{in: in, byKey: make(map[K]map[string]T), keysOf: make(map[string][]K)}
	w := in.subscribe(func(_ *watcher[T], events []Event[T], synced bool) {
		// f runs before the lock is taken, so that it may read this index too.
		keys := make([][]K, len(events))
		for i, e := range events {
			if e.Type != Deleted {
				keys[i] = f(e.New)
			}
		}
		x.mu.Lock()
		defer x.mu.Unlock()
		x.synced = synced
		for i, e := range events {
			for _, k := range x.keysOf[e.Key] {
				if s := x.byKey[k]; s != nil {
					delete(s, e.Key)
					if len(s) == 0 {
						delete(x.byKey, k)
					}
				}
			}
			delete(x.keysOf, e.Key)
			ks := keys[i]
			if len(ks) == 0 {
				continue
			}
			x.keysOf[e.Key] = ks
			for _, k := range ks {
				s := x.byKey[k]
				if s == nil {
					s = make(map[string]T, 1)
					x.byKey[k] = s
				}
				s[e.Key] = e.New
			}
		}
	})
	x.stop = w.cancel
	return x
}

// Lookup returns the items filed under k, sorted by their collection key.
func (x *Index[K, T]) Lookup(k K) []T {
	x.mu.RLock()
	s := x.byKey[k]
	keys := make([]string, 0, len(s))
	for ik := range s {
		keys = append(keys, ik)
	}
	slices.Sort(keys)
	out := make([]T, len(keys))
	for i, ik := range keys {
		out[i] = s[ik]
	}
	x.mu.RUnlock()
	return out
}

// HasSynced reports whether the index reflects its input's first full view.
func (x *Index[K, T]) HasSynced() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.synced
}

// Stop detaches the index from its input.
func (x *Index[K, T]) Stop() { x.stop() }
