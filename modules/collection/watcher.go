package collection

import "sync"

// batch is the events of one write, and whether the collection was synced after it.
type batch[T any] struct {
	events []Event[T]
	synced bool
}

// watcher delivers batches to one handler on a goroutine of its own. Writers append to an
// unbounded queue and never wait for the handler, so a slow or re-entrant handler cannot
// block a write or deadlock against the collection's lock.
type watcher[T any] struct {
	handler func(w *watcher[T], events []Event[T], synced bool)
	detach  func(*watcher[T]) // removes the watcher from its collection

	wake chan struct{} // capacity 1: "the queue is not empty"
	stop chan struct{} // closed by cancel
	done chan struct{} // closed when the goroutine exits

	mu      sync.Mutex // guards the fields below
	queue   []batch[T] // pending batches from head on
	head    int
	running bool // a handler call is in progress
	stopped bool
	gid     uint64 // the delivering goroutine
}

func newWatcher[T any](h func(*watcher[T], []Event[T], bool), initial batch[T]) *watcher[T] {
	w := &watcher[T]{
		handler: h,
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		queue:   []batch[T]{initial},
	}
	w.wake <- struct{}{}
	go w.loop()
	return w
}

// enqueue never blocks; the caller may hold its collection's lock.
func (w *watcher[T]) enqueue(b batch[T]) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	if w.head > 0 && w.head >= len(w.queue)/2 && len(w.queue) == cap(w.queue) {
		// A handler that never quite catches up would otherwise grow the array forever:
		// move the pending batches to the front before growing it.
		n := copy(w.queue, w.queue[w.head:])
		clear(w.queue[n:])
		w.queue, w.head = w.queue[:n], 0
	}
	w.queue = append(w.queue, b)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watcher[T]) loop() {
	defer close(w.done)
	w.mu.Lock()
	w.gid = goid()
	w.mu.Unlock()
	for {
		select {
		case <-w.stop:
			return
		case <-w.wake:
		}
		for {
			w.mu.Lock()
			if w.stopped || w.head == len(w.queue) {
				w.mu.Unlock()
				break
			}
			b := w.queue[w.head]
			w.queue[w.head] = batch[T]{}
			w.head++
			if w.head == len(w.queue) {
				// Reuse the array for the next batches, unless a backlog grew it large.
				w.queue, w.head = w.queue[:0], 0
				if cap(w.queue) > 64 {
					w.queue = nil
				}
			}
			w.running = true
			w.mu.Unlock()

			w.handler(w, b.events, b.synced)

			w.mu.Lock()
			w.running = false
			w.mu.Unlock()
		}
	}
}

// cancelled reports whether cancel has been called; a handler that walks a batch checks it
// between items.
func (w *watcher[T]) cancelled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopped
}

// cancel detaches the watcher and stops its goroutine. No handler call begins after cancel
// returns. Called from outside the handler, it also waits for a call in progress and for the
// goroutine to exit. Called from inside its own handler it cannot wait for itself, so it
// returns at once and the goroutine exits when the handler returns. That holds even while
// another goroutine is inside cancel, waiting for this very handler: cancel therefore uses
// no sync.Once, whose second caller would wait for the first.
func (w *watcher[T]) cancel() {
	if !w.cancelNoWait() {
		<-w.done
	}
}

// cancelNoWait is cancel without waiting for a handler call in progress; it reports whether
// it was called from inside that call.
func (w *watcher[T]) cancelNoWait() (inHandler bool) {
	w.mu.Lock()
	first := !w.stopped
	w.stopped = true
	w.queue, w.head = nil, 0
	inHandler = w.running && w.gid == goid()
	w.mu.Unlock()
	if first {
		close(w.stop)
		if w.detach != nil {
			w.detach(w)
		}
	}
	return inHandler
}

// inHandler reports whether the caller is this watcher's handler.
func (w *watcher[T]) inHandler() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running && w.gid == goid()
}

// busy reports whether a handler call is in progress.
func (w *watcher[T]) busy() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}
