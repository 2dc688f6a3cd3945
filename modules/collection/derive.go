package collection

import (
	"slices"
	"sync/atomic"
)

// Derived is a collection computed from others. Stop detaches it from its inputs; it then
// keeps its last content but changes no more.
type Derived[T any] struct {
	*store[T]
	subs    []subscription
	stopped atomic.Bool
}

// subscription is a derived collection's watch of one input, whatever the input's type.
type subscription interface {
	cancel()
	cancelNoWait() (inHandler bool)
	inHandler() bool
	busy() bool
}

// Stop detaches the collection from its inputs and ends its goroutines. It waits for a
// computation in progress, unless it is called from inside one (from f, say): a computation
// cannot wait for itself, nor for another input's computation that waits for it. Either way,
// the content does not change once Stop has returned.
func (d *Derived[T]) Stop() {
	d.stopped.Store(true)
	inside := slices.ContainsFunc(d.subs, subscription.inHandler)
	for _, s := range d.subs {
		if inside {
			s.cancelNoWait()
		} else {
			s.cancel()
		}
	}
}

// write applies a computation's changes, unless the collection has been stopped meanwhile.
func (d *Derived[T]) write(changes []change[T], synced bool) {
	if !d.stopped.Load() {
		d.apply(changes, synced)
	}
}

// FlatMap derives a collection with the outputs of f for each input item. When an input
// item changes, only its own outputs are recomputed. f must be a pure function of its input
// (it may read other collections, but is not rerun when they change: use [Join] for that).
//
// When two input items produce the same output key, the one that produced it first keeps
// it; when it withdraws, the value of the smallest other input key is promoted.
func FlatMap[I, O any](in Collection[I], f func(I) []O, opts ...Option) *Derived[O] {
	return derive(in, "flatmap("+in.Name()+")", opts,
		func(own *owners[O], key string, item I, changes []change[O]) []change[O] {
			return own.set(key, f(item), changes)
		})
}

// Map derives a collection with at most one output per input: f returns the output and
// whether there is one. Collisions are resolved as in [FlatMap].
func Map[I, O any](in Collection[I], f func(I) (O, bool), opts ...Option) *Derived[O] {
	return derive(in, "map("+in.Name()+")", opts,
		func(own *owners[O], key string, item I, changes []change[O]) []change[O] {
			o, ok := f(item)
			return own.setOne(key, o, ok, changes)
		})
}

// derive is FlatMap and Map: each computes an input item's outputs into changes.
func derive[I, O any](in Collection[I], defaultName string, opts []Option,
	each func(own *owners[O], key string, item I, changes []change[O]) []change[O]) *Derived[O] {
	name, key, equal := buildOptions[O](defaultName, opts)
	d := &Derived[O]{store: newStore(name, key, equal)}
	own := newOwners(d.store)
	var buf changeBuf[O]
	w := in.subscribe(func(_ *watcher[I], events []Event[I], synced bool) {
		changes := buf.get()
		for _, e := range events {
			if e.Type == Deleted {
				changes = own.set(e.Key, nil, changes)
			} else {
				changes = each(own, e.Key, e.New, changes)
			}
		}
		d.write(changes, synced)
		buf.put(changes)
	})
	d.subs = append(d.subs, w)
	return d
}

// Filter derives the items for which keep returns true, under the same keys. It costs less
// than a Map, since keys cannot collide.
func Filter[T any](in Collection[T], keep func(T) bool, opts ...Option) *Derived[T] {
	opts = append([]Option{WithName("filter(" + in.Name() + ")"), WithKey(in.KeyOf), WithEqual(in.equality())}, opts...)
	name, key, equal := buildOptions[T]("", opts)
	d := &Derived[T]{store: newStore(name, key, equal)}
	var buf changeBuf[T]
	w := in.subscribe(func(w *watcher[T], events []Event[T], synced bool) {
		changes := buf.get()
		for _, e := range events {
			if e.Type != Deleted && keep(e.New) {
				changes = append(changes, change[T]{key: e.Key, val: e.New})
			} else {
				changes = append(changes, change[T]{key: e.Key, del: true})
			}
		}
		d.write(changes, synced)
		buf.put(changes)
	})
	d.subs = append(d.subs, w)
	return d
}

// changeBuf keeps the slice of changes a derived collection builds per input write, so that
// a steady stream of small updates does not allocate one each time. Its user must serialise
// get and put.
type changeBuf[T any] struct{ s []change[T] }

func (b *changeBuf[T]) get() []change[T] { return b.s[:0] }

// put takes the slice back once the store has applied it (a store keeps no reference to
// it). A slice grown by a large write, such as an initial load, is let go.
func (b *changeBuf[T]) put(s []change[T]) {
	clear(s) // drop references to values
	if cap(s) > 256 {
		s = nil
	}
	b.s = s[:0]
}
