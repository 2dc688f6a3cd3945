package collection

import (
	"slices"
	"sync"
	"sync/atomic"
)

// change is one requested write to a store: set key to val, or delete it.
type change[T any] struct {
	key string
	val T
	del bool
}

// store is the state and the watchers shared by every collection implementation. It is the
// only place events are made: a write compares each value with the one it replaces, drops
// writes that change nothing, and queues the rest to every watcher under the same lock, so
// all watchers see the same order.
type store[T any] struct {
	name  string
	keyOf func(T) string
	equal func(a, b T) bool

	syncedCh   chan struct{}
	syncedFlag atomic.Bool
	lastErr    atomic.Pointer[error]
	events     atomic.Uint64 // events emitted, for metrics

	mu       sync.RWMutex // guards items and watchers
	items    map[string]T
	watchers []*watcher[T]
}

func newStore[T any](name string, keyOf func(T) string, equal func(a, b T) bool) *store[T] {
	return &store[T]{
		name:     name,
		keyOf:    keyOf,
		equal:    equal,
		syncedCh: make(chan struct{}),
		items:    make(map[string]T),
	}
}

// apply writes the changes and queues the events they cause. markSynced marks the store
// synced after the write (it never un-syncs). It returns the events, which the caller must
// not modify.
func (s *store[T]) apply(changes []change[T], markSynced bool) []Event[T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applyLocked(changes, markSynced)
}

// applyLocked is apply for a caller that holds s.mu, so that it can read the current state
// and write in one step.
func (s *store[T]) applyLocked(changes []change[T], markSynced bool) []Event[T] {
	var events []Event[T]
	if len(changes) > 16 {
		events = make([]Event[T], 0, len(changes))
	}
	for _, c := range changes {
		old, had := s.items[c.key]
		switch {
		case c.del && had:
			delete(s.items, c.key)
			events = append(events, Event[T]{Type: Deleted, Key: c.key, Old: old})
		case c.del:
		case had && s.equal(old, c.val):
		case had:
			s.items[c.key] = c.val
			events = append(events, Event[T]{Type: Updated, Key: c.key, Old: old, New: c.val})
		default:
			s.items[c.key] = c.val
			events = append(events, Event[T]{Type: Added, Key: c.key, New: c.val})
		}
	}
	becameSynced := markSynced && !s.syncedFlag.Load()
	if becameSynced {
		s.syncedFlag.Store(true)
		// Closed under the lock, so that whoever sees the flag or the batch below also finds
		// the channel closed.
		close(s.syncedCh)
	}
	if len(events) > 0 {
		s.events.Add(uint64(len(events)))
	}
	if len(events) > 0 || becameSynced {
		b := batch[T]{events: events, synced: s.syncedFlag.Load()}
		for _, w := range s.watchers {
			w.enqueue(b)
		}
	}
	return events
}

// subscribe registers h and queues the current state to it as Added events, atomically with
// respect to writes, so the watcher sees every item exactly once before any later change.
func (s *store[T]) subscribe(h func(*watcher[T], []Event[T], bool)) *watcher[T] {
	s.mu.Lock()
	initial := make([]Event[T], 0, len(s.items))
	for k, v := range s.items {
		initial = append(initial, Event[T]{Type: Added, Key: k, New: v})
	}
	w := newWatcher(h, batch[T]{events: initial, synced: s.syncedFlag.Load()})
	w.detach = s.detach
	s.watchers = append(s.watchers, w)
	s.mu.Unlock()
	return w
}

func (s *store[T]) detach(w *watcher[T]) {
	s.mu.Lock()
	if i := slices.Index(s.watchers, w); i >= 0 {
		s.watchers = slices.Delete(s.watchers, i, i+1)
	}
	s.mu.Unlock()
}

func (s *store[T]) Name() string { return s.name }

func (s *store[T]) equality() func(a, b T) bool { return s.equal }

func (s *store[T]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}

func (s *store[T]) HasSynced() bool         { return s.syncedFlag.Load() }
func (s *store[T]) Synced() <-chan struct{} { return s.syncedCh }

// EventCount returns how many events the collection has emitted since it was created.
func (s *store[T]) EventCount() uint64 { return s.events.Load() }

func (s *store[T]) LastError() error {
	if p := s.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *store[T]) setError(err error) {
	if err == nil {
		s.lastErr.Store(nil)
		return
	}
	s.lastErr.Store(&err)
}

func (s *store[T]) Get(key string) (T, bool) {
	s.mu.RLock()
	v, ok := s.items[key]
	s.mu.RUnlock()
	return v, ok
}

func (s *store[T]) List() []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]T, 0, len(s.items))
	for _, v := range s.items {
		out = append(out, v)
	}
	return out
}

func (s *store[T]) GetAny(key string) (any, bool) {
	v, ok := s.Get(key)
	if !ok {
		return nil, false
	}
	return v, true
}

func (s *store[T]) ListAny() []any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]any, 0, len(s.items))
	for _, v := range s.items {
		out = append(out, v)
	}
	return out
}

func (s *store[T]) KeyOf(item T) string { return s.keyOf(item) }

func (s *store[T]) Watch(h func(Event[T])) (cancel func()) {
	return s.subscribe(func(w *watcher[T], events []Event[T], _ bool) {
		for _, e := range events {
			if w.cancelled() {
				return
			}
			h(e)
		}
	}).cancel
}

func (s *store[T]) WatchBatch(h func([]Event[T])) (cancel func()) {
	return s.subscribe(func(_ *watcher[T], events []Event[T], _ bool) {
		if len(events) > 0 {
			h(events)
		}
	}).cancel
}
