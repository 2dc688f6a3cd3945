package collection

// Static is a collection written directly: what sources feed. A state-of-the-world source
// calls Reset with everything it knows; an incremental one calls Upsert and Delete, and
// MarkSynced once its first full view is in.
type Static[T any] struct {
	*store[T]
}

// NewStatic returns an empty, unsynced collection.
func NewStatic[T any](opts ...Option) *Static[T] {
	name, key, equal := buildOptions[T]("static", opts)
	return &Static[T]{store: newStore(name, key, equal)}
}

// Reset replaces the whole content with items and marks the collection synced. Items that
// did not change emit nothing; items no longer present are deleted. If items holds a key
// twice, the later item wins, and the key still yields at most one event.
func (s *Static[T]) Reset(items []T) []Event[T] {
	pos := make(map[string]int, len(items)) // key → its change
	changes := make([]change[T], 0, len(items))
	for _, it := range items {
		k := s.keyOf(it)
		if i, ok := pos[k]; ok {
			changes[i].val = it
			continue
		}
		pos[k] = len(changes)
		changes = append(changes, change[T]{key: k, val: it})
	}
	// Finding the keys to delete and writing happen under one lock, so that a concurrent
	// Upsert is either replaced by this Reset or lands after it, never half of each.
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.items {
		if _, ok := pos[k]; !ok {
			changes = append(changes, change[T]{key: k, del: true})
		}
	}
	return s.applyLocked(changes, true)
}

// Upsert adds or replaces items. Like Reset and Delete, it returns the events it caused;
// they are shared with the watchers, so read them only.
func (s *Static[T]) Upsert(items ...T) []Event[T] {
	if len(items) == 1 { // the usual incremental update, without allocating the changes
		return s.apply([]change[T]{{key: s.keyOf(items[0]), val: items[0]}}, false)
	}
	changes := make([]change[T], len(items))
	for i, it := range items {
		changes[i] = change[T]{key: s.keyOf(it), val: it}
	}
	return s.apply(changes, false)
}

// Delete removes the keys; absent keys are ignored.
func (s *Static[T]) Delete(keys ...string) []Event[T] {
	changes := make([]change[T], len(keys))
	for i, k := range keys {
		changes[i] = change[T]{key: k, del: true}
	}
	return s.apply(changes, false)
}

// MarkSynced declares that the collection holds the source's complete first view.
func (s *Static[T]) MarkSynced() { s.apply(nil, true) }

// SetError records the source's last error for this collection (nil clears it). The last
// good items keep serving; the error is shown by the admin API.
func (s *Static[T]) SetError(err error) { s.setError(err) }

var _ Collection[int] = (*Static[int])(nil)
