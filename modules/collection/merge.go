package collection

import (
	"fmt"
	"math/bits"
	"sync"
)

// Merge derives the union of its inputs, which must key items the same way. When several
// inputs hold a key, the earliest input in the list wins. It is synced when every input is.
// At most 64 inputs can be merged.
func Merge[T any](inputs []Collection[T], opts ...Option) *Derived[T] {
	if len(inputs) > 64 {
		panic(fmt.Sprintf("collection.Merge: %d inputs, at most 64", len(inputs)))
	}
	defaults := []Option{WithName("merge")}
	if len(inputs) > 0 {
		defaults = append(defaults, WithKey(inputs[0].KeyOf), WithEqual(inputs[0].equality()))
	} else {
		defaults = append(defaults, WithKey(func(T) string { return "" }))
	}
	opts = append(defaults, opts...)
	name, key, equal := buildOptions[T]("", opts)
	m := &merge[T]{
		Derived: &Derived[T]{store: newStore(name, key, equal)},
		inputs:  inputs,
		has:     make(map[string]uint64),
		synced:  make([]bool, len(inputs)),
	}
	if len(inputs) == 0 {
		m.apply(nil, true)
	}
	for i, in := range inputs {
		w := in.subscribe(func(_ *watcher[T], events []Event[T], synced bool) { m.on(i, events, synced) })
		m.subs = append(m.subs, w)
	}
	return m.Derived
}

type merge[T any] struct {
	*Derived[T]
	inputs []Collection[T]

	mu     sync.Mutex        // serialises the inputs' goroutines
	has    map[string]uint64 // key → bit i set if input i holds it
	synced []bool
	buf    changeBuf[T]
}

func (m *merge[T]) on(i int, events []Event[T], synced bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped.Load() {
		return
	}
	m.synced[i] = synced
	bit := uint64(1) << i
	changes := m.buf.get()
	for _, e := range events {
		mask := m.has[e.Key]
		winner := mask == 0 || bits.TrailingZeros64(mask) >= i
		if e.Type != Deleted {
			m.has[e.Key] = mask | bit
			if winner {
				changes = append(changes, change[T]{key: e.Key, val: e.New})
			}
			continue
		}
		mask &^= bit
		if mask == 0 {
			delete(m.has, e.Key)
		} else {
			m.has[e.Key] = mask
		}
		if winner {
			changes = m.promote(e.Key, mask, changes)
		}
	}
	allSynced := true
	for _, s := range m.synced {
		allSynced = allSynced && s
	}
	m.write(changes, allSynced)
	m.buf.put(changes)
}

// promote shows the next input's value for a key the winning input dropped. It reads that
// input's current value; if the input has moved on, its own event follows and corrects it.
func (m *merge[T]) promote(key string, mask uint64, changes []change[T]) []change[T] {
	for mask != 0 {
		next := bits.TrailingZeros64(mask)
		if v, ok := m.inputs[next].Get(key); ok {
			return append(changes, change[T]{key: key, val: v})
		}
		mask &^= uint64(1) << next
	}
	return append(changes, change[T]{key: key, del: true})
}
