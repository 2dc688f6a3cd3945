package xds

import "sync"

// mailbox is an unbounded FIFO with a wake-up channel. Writers never block, which is the
// point: the gRPC receive goroutine must keep reading even while the client's loop is
// busy or a consumer is slow to call Next, or the server's sends would back up onto its
// reads and both ends could wait on each other.
type mailbox[T any] struct {
	mu    sync.Mutex
	items []T
	head  int
	// ready has room for one token; a token means "there may be items". It is re-armed
	// by pop while items remain, so that several readers waiting on it all get served.
	ready chan struct{}
}

func newMailbox[T any]() *mailbox[T] {
	return &mailbox[T]{ready: make(chan struct{}, 1)}
}

// push appends v and wakes a reader.
func (m *mailbox[T]) push(v T) {
	m.mu.Lock()
	m.items = append(m.items, v)
	m.mu.Unlock()
	m.signal()
}

func (m *mailbox[T]) signal() {
	select {
	case m.ready <- struct{}{}:
	default:
	}
}

// pop removes the oldest item, reporting false when there is none.
func (m *mailbox[T]) pop() (T, bool) {
	m.mu.Lock()
	var zero T
	if m.head == len(m.items) {
		m.mu.Unlock()
		return zero, false
	}
	v := m.items[m.head]
	m.items[m.head] = zero // let the garbage collector have it
	m.head++
	more := m.head < len(m.items)
	switch {
	case !more:
		// Drained: reuse the array from the start instead of growing forever.
		m.items, m.head = m.items[:0], 0
	case m.head > 1024 && m.head*2 > len(m.items):
		// A long backlog being consumed: compact so the dead prefix is freed.
		n := copy(m.items, m.items[m.head:])
		clear(m.items[n:])
		m.items, m.head = m.items[:n], 0
	}
	m.mu.Unlock()
	if more {
		m.signal()
	}
	return v, true
}
