package collection

import (
	"slices"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestWatcherQueueStaysBounded: a handler that always lags a few batches behind never lets
// its queue drain; the queue must still not grow with the number of batches passed through,
// and must deliver them in order.
func TestWatcherQueueStaysBounded(t *testing.T) {
	const lag, total = 10, 10000
	tokens := make(chan struct{})
	var mu sync.Mutex
	var got []int
	w := newWatcher(func(_ *watcher[int], evs []Event[int], _ bool) {
		<-tokens
		mu.Lock()
		for _, e := range evs {
			got = append(got, e.New)
		}
		mu.Unlock()
	}, batch[int]{})
	tokens <- struct{}{} // the empty initial batch
	one := func(i int) batch[int] { return batch[int]{events: []Event[int]{{Type: Added, New: i}}} }
	for i := range lag {
		w.enqueue(one(i))
	}
	maxCap := 0
	for i := lag; i < total; i++ {
		tokens <- struct{}{}
		w.enqueue(one(i))
		w.mu.Lock()
		maxCap = max(maxCap, cap(w.queue))
		w.mu.Unlock()
	}
	close(tokens)
	waitFor(t, "every batch", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == total })
	w.cancel()
	if maxCap > 8*lag {
		t.Errorf("queue capacity reached %d with at most %d batches pending", maxCap, lag+1)
	}
	want := make([]int, total)
	for i := range want {
		want[i] = i
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Error("batches delivered out of order")
	}
}

func TestProtoEquality(t *testing.T) {
	s := NewStatic[*wrapperspb.StringValue](WithKey(func(v *wrapperspb.StringValue) string { return "k" }))
	s.Upsert(wrapperspb.String("a"))
	if ev := s.Upsert(wrapperspb.String("a")); len(ev) != 0 {
		t.Errorf("equal message emitted %d events", len(ev))
	}
	if ev := s.Upsert(wrapperspb.String("b")); len(ev) != 1 {
		t.Errorf("changed message emitted %d events", len(ev))
	}
}
