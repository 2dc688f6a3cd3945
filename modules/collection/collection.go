package collection

import "context"

// EventType says what happened to a key.
type EventType uint8

// The event types. Their numeric values are stable.
const (
	Added EventType = iota + 1
	Updated
	Deleted
)

func (t EventType) String() string {
	switch t {
	case Added:
		return "added"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return "unknown"
}

// Event is one change to one key. Old is set for Updated and Deleted, New for Added and
// Updated; the other is the zero value.
type Event[T any] struct {
	Type EventType
	Key  string
	Old  T
	New  T
}

// Latest returns New, or Old for a deletion: the last known value of the key.
func (e Event[T]) Latest() T {
	if e.Type == Deleted {
		return e.Old
	}
	return e.New
}

// Info is the part of a collection that does not depend on its item type. The mesh app's
// registry and admin API see collections through it.
type Info interface {
	// Name identifies the collection in logs, metrics and the admin API.
	Name() string
	// Len returns the number of items.
	Len() int
	// HasSynced reports whether the collection holds a complete first view of its inputs.
	HasSynced() bool
	// Synced returns a channel closed once HasSynced is true.
	Synced() <-chan struct{}
	// LastError returns the last error a source reported for this collection, or nil.
	LastError() error
	// EventCount returns how many events the collection has emitted since it was created:
	// a counter for metrics.
	EventCount() uint64
	// GetAny and ListAny are Get and List with the item type erased.
	GetAny(key string) (any, bool)
	ListAny() []any
}

// Collection is a typed, keyed, watchable set of items.
type Collection[T any] interface {
	Info
	// Get returns the item with the key, if present.
	Get(key string) (T, bool)
	// List returns every item, in no particular order. The slice is the caller's.
	List() []T
	// KeyOf returns the key the collection files an item under.
	KeyOf(item T) string
	// Watch calls h for every change, starting with an Added event for each item present
	// now. Calls are sequential, on a goroutine of the watch's own, with no lock held.
	Watch(h func(Event[T])) (cancel func())
	// WatchBatch is Watch with the events of one write delivered together, which lets a
	// consumer rebuild a snapshot once per write instead of once per key. The slice is
	// shared with other watchers: read it, do not modify or keep it.
	WatchBatch(h func([]Event[T])) (cancel func())

	// subscribe is Watch plus the input's sync state, for derived collections.
	subscribe(h func(w *watcher[T], events []Event[T], synced bool)) *watcher[T]
	// equality is the collection's equality, which Filter and Merge inherit: a collection
	// of the same items must not judge them by another rule (nor fall back to a deep
	// comparison of values that own an equality, such as protobuf-backed views).
	equality() func(a, b T) bool
}

// WaitSynced blocks until every collection has synced or ctx is done.
func WaitSynced(ctx context.Context, cols ...Info) error {
	for _, c := range cols {
		select {
		case <-c.Synced():
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}
