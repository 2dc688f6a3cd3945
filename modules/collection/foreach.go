package collection

import (
	"context"
	"fmt"
	"sync"
)

// StartFunc starts the running thing for one item (a listener, a stream, a goroutine) and
// returns how to stop it. A returned error means nothing is running for the item.
type StartFunc[T any] func(item T) (stop func(), err error)

// ForEach keeps one running thing per item of a collection: the declarative listener, "for
// each Service, a listener". Items added are started, items deleted are stopped, and an item
// whose value changed is stopped and then started again (stop first, so a listener can take
// its address back). Unchanged items are left alone, since collections emit no event for
// them. Starts and stops run one at a time, in the order of the collection's events.
type ForEach[T any] struct {
	w       *watcher[T]
	onError func(key string, err error)

	synced     chan struct{} // closed once the items of the input's first full view are started
	syncedOnce sync.Once

	mu      sync.Mutex // guards the fields below
	running map[string]func()
	errs    map[string]error
	stopped bool // Stop has begun: a start that finishes now is stopped at once
}

// ForEachOption configures RunForEach.
type ForEachOption[T any] func(*ForEach[T])

// OnStartError is called when a start fails, with the item's key. The item is retried when
// its value next changes. It is also called when a stop panics; the panic is recovered so
// that the other items keep running.
func OnStartError[T any](f func(key string, err error)) ForEachOption[T] {
	return func(r *ForEach[T]) { r.onError = f }
}

// RunForEach starts start for each item of in, now and as items come, change and go, until
// Stop.
func RunForEach[T any](in Collection[T], start StartFunc[T], opts ...ForEachOption[T]) *ForEach[T] {
	r := &ForEach[T]{running: make(map[string]func()), errs: make(map[string]error), synced: make(chan struct{})}
	for _, o := range opts {
		o(r)
	}
	r.w = in.subscribe(func(w *watcher[T], events []Event[T], synced bool) {
		for _, e := range events {
			if w.cancelled() {
				return
			}
			r.handle(e, start)
		}
		if synced {
			r.syncedOnce.Do(func() { close(r.synced) })
		}
	})
	return r
}

// WaitSynced blocks until the start (or the failed start) of every item of the input's
// first complete view has returned, or ctx is done. A listener set waits for it before the
// config it replaces lets go of the same sockets, so they are never closed in between.
func (r *ForEach[T]) WaitSynced(ctx context.Context) error {
	select {
	case <-r.synced:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *ForEach[T]) handle(e Event[T], start StartFunc[T]) {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	stop := r.running[e.Key]
	delete(r.running, e.Key)
	delete(r.errs, e.Key)
	r.mu.Unlock()
	if stop != nil {
		r.stopOne(e.Key, stop)
	}
	if e.Type == Deleted {
		return
	}
	stopNew, err := safeStart(start, e.New)
	if err != nil {
		r.mu.Lock()
		r.errs[e.Key] = err
		r.mu.Unlock()
		if r.onError != nil {
			r.onError(e.Key, err)
		}
		return
	}
	if stopNew == nil {
		stopNew = func() {}
	}
	r.mu.Lock()
	if r.stopped {
		// Stop was called from inside this start, and has already stopped everything else.
		r.mu.Unlock()
		r.stopOne(e.Key, stopNew)
		return
	}
	r.running[e.Key] = stopNew
	r.mu.Unlock()
}

// safeStart turns a panicking start into an error for that item, so one bad item cannot
// take the others' running things down with it.
func safeStart[T any](start StartFunc[T], item T) (stop func(), err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("start panicked: %v", p)
		}
	}()
	return start(item)
}

// stopOne runs a stop function; a panic in it is reported, not propagated, for the same
// reason as in safeStart.
func (r *ForEach[T]) stopOne(key string, stop func()) {
	defer func() {
		if p := recover(); p != nil && r.onError != nil {
			r.onError(key, fmt.Errorf("stop panicked: %v", p))
		}
	}()
	stop()
}

// Running returns the keys of the items that have a running thing.
func (r *ForEach[T]) Running() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return mapKeys(r.running)
}

// Errors returns the last start error of each item that failed to start.
func (r *ForEach[T]) Errors() map[string]error {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]error, len(r.errs))
	for k, v := range r.errs {
		out[k] = v
	}
	return out
}

// Stop stops watching and stops every running thing. It waits for a start in progress,
// unless it is called from inside one: then that start's thing is stopped when it returns.
func (r *ForEach[T]) Stop() {
	r.w.cancel() // waits for a start in progress, so none can follow
	r.mu.Lock()
	r.stopped = true
	running := r.running
	r.running = map[string]func(){}
	r.mu.Unlock()
	for key, stop := range running {
		r.stopOne(key, stop)
	}
}
