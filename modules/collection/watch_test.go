package collection

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWatchReplayThenLive(t *testing.T) {
	s := NewStatic[item]()
	s.Upsert(item{Name: "a", Value: 1}, item{Name: "b", Value: 1})
	rec := watch[item](t, s)
	waitFor(t, "replay", func() bool { return rec.len() == 2 })
	if got, want := summary(rec.get()), []string{"added a={a  1}", "added b={b  1}"}; !slices.Equal(got, want) {
		t.Errorf("replay = %q, want %q", got, want)
	}
	s.Upsert(item{Name: "a", Value: 2})
	s.Delete("b")
	s.Upsert(item{Name: "c", Value: 1})
	waitFor(t, "live events", func() bool { return rec.len() == 5 })
	var live []string
	for _, e := range rec.get()[2:] {
		live = append(live, eventString(e))
	}
	want := []string{"updated a={a  1}->{a  2}", "deleted b={b  1}", "added c={c  1}"}
	if !slices.Equal(live, want) {
		t.Errorf("live = %q, want %q (in order)", live, want)
	}
}

func TestWatchBatch(t *testing.T) {
	s := NewStatic[item]()
	s.Upsert(item{Name: "a"})
	var mu sync.Mutex
	var batches [][]string
	cancel := s.WatchBatch(func(evs []Event[item]) {
		mu.Lock()
		batches = append(batches, summary(evs))
		mu.Unlock()
	})
	defer cancel()
	s.Upsert(item{Name: "a"}) // no change: no batch
	s.Upsert(item{Name: "b"}, item{Name: "c"})
	s.MarkSynced() // sync without events: no empty batch
	s.Delete("a", "b")
	n := func() int { mu.Lock(); defer mu.Unlock(); return len(batches) }
	waitFor(t, "batches", func() bool { return n() == 3 })
	settle()
	mu.Lock()
	defer mu.Unlock()
	want := [][]string{
		{"added a={a  0}"},
		{"added b={b  0}", "added c={c  0}"},
		{"deleted a={a  0}", "deleted b={b  0}"},
	}
	if len(batches) != len(want) {
		t.Fatalf("batches = %q", batches)
	}
	for i := range want {
		if !slices.Equal(batches[i], want[i]) {
			t.Errorf("batch %d = %q, want %q", i, batches[i], want[i])
		}
	}
}

// TestWatchPerKeyOrderConcurrentWriters has many goroutines write increasing versions of
// their own keys; every watcher must see each key's versions strictly increase and end on
// the last one.
func TestWatchPerKeyOrderConcurrentWriters(t *testing.T) {
	const writers, versions = 16, 200
	s := NewStatic[item]()
	type seen struct {
		mu   sync.Mutex
		last map[string]int
		bad  []string
	}
	watchers := make([]*seen, 3)
	for i := range watchers {
		w := &seen{last: map[string]int{}}
		watchers[i] = w
		cancel := s.Watch(func(e Event[item]) {
			w.mu.Lock()
			defer w.mu.Unlock()
			if e.Type == Deleted {
				w.bad = append(w.bad, "unexpected delete "+e.Key)
				return
			}
			if prev, ok := w.last[e.Key]; ok && e.New.Value <= prev {
				w.bad = append(w.bad, fmt.Sprintf("%s: %d after %d", e.Key, e.New.Value, prev))
			}
			w.last[e.Key] = e.New.Value
		})
		t.Cleanup(cancel)
	}
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			name := "k" + strconv.Itoa(g)
			for v := 1; v <= versions; v++ {
				s.Upsert(item{Name: name, Value: v})
			}
		})
	}
	wg.Wait()
	for i, w := range watchers {
		waitFor(t, "all versions delivered", func() bool {
			w.mu.Lock()
			defer w.mu.Unlock()
			if len(w.last) != writers {
				return false
			}
			for _, v := range w.last {
				if v != versions {
					return false
				}
			}
			return true
		})
		w.mu.Lock()
		if len(w.bad) > 0 {
			t.Errorf("watcher %d saw out-of-order events: %q", i, w.bad[:min(5, len(w.bad))])
		}
		w.mu.Unlock()
	}
	for g := range writers {
		if v, _ := s.Get("k" + strconv.Itoa(g)); v.Value != versions {
			t.Errorf("final value of k%d = %d", g, v.Value)
		}
	}
}

// TestWatchHandlerReentrant calls Get, List, Watch and writes from inside handlers, on the
// watched collection and on another one. None of it may deadlock.
func TestWatchHandlerReentrant(t *testing.T) {
	s := NewStatic[item]()
	other := NewStatic[item]()
	other.Upsert(item{Name: "o"})

	var mu sync.Mutex
	var inner []func()
	var innerSeen atomic.Int64
	var handled atomic.Int64
	cancel := s.Watch(func(e Event[item]) {
		s.Get(e.Key)
		s.List()
		s.Len()
		other.Get("o")
		other.List()
		other.Upsert(item{Name: "from-handler-" + e.Key}) // writing another collection
		c1 := s.Watch(func(Event[item]) { innerSeen.Add(1) })
		c2 := other.Watch(func(Event[item]) { innerSeen.Add(1) })
		mu.Lock()
		inner = append(inner, c1, c2)
		mu.Unlock()
		handled.Add(1)
	})
	for i := range 20 {
		s.Upsert(item{Name: strconv.Itoa(i)})
	}
	waitFor(t, "handler calls", func() bool { return handled.Load() == 20 })
	waitFor(t, "inner watchers' replays", func() bool { return innerSeen.Load() > 0 })
	cancel()
	mu.Lock()
	for _, c := range inner {
		c()
	}
	mu.Unlock()
	if other.Len() != 21 {
		t.Errorf("other has %d items", other.Len())
	}
}

// TestWatchHandlerWritesOwnCollection: a handler may write the collection it watches.
func TestWatchHandlerWritesOwnCollection(t *testing.T) {
	s := NewStatic[item]()
	cancel := s.Watch(func(e Event[item]) {
		if e.Type != Deleted && e.New.Value < 10 {
			s.Upsert(item{Name: e.Key, Value: e.New.Value + 1})
		}
	})
	defer cancel()
	s.Upsert(item{Name: "a"})
	waitFor(t, "chain of self-writes", func() bool { v, _ := s.Get("a"); return v.Value == 10 })
}

func TestWatchCancelInsideHandler(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			s := NewStatic[item]()
			for i := range 10 {
				s.Upsert(item{Name: strconv.Itoa(i)})
			}
			var calls atomic.Int64
			var cancel func()
			var once sync.Once
			ready := make(chan struct{})
			returned := make(chan struct{})
			h := func() {
				<-ready
				calls.Add(1)
				once.Do(func() {
					cancel() // must return at once
					close(returned)
				})
			}
			if batch {
				cancel = s.WatchBatch(func([]Event[item]) { h() })
			} else {
				cancel = s.Watch(func(Event[item]) { h() })
			}
			close(ready)
			select {
			case <-returned:
			case <-time.After(10 * time.Second):
				t.Fatal("cancel from inside the handler deadlocked")
			}
			s.Upsert(item{Name: "later"})
			settle()
			if n := calls.Load(); n != 1 {
				t.Errorf("handler called %d times, want 1 (no call after cancel)", n)
			}
			cancel() // idempotent, and from outside now waits for nothing
		})
	}
}

// TestWatchCancelInsideAndOutsideConcurrently: a handler cancels its own watch while
// another goroutine is already cancelling it from outside. The outside cancel waits for the
// handler, so the inside one must not wait for the outside one.
func TestWatchCancelInsideAndOutsideConcurrently(t *testing.T) {
	s := NewStatic[item]()
	s.Upsert(item{Name: "a"})
	inHandler := make(chan struct{})
	proceed := make(chan struct{})
	var cancel func()
	var cancelled sync.WaitGroup
	cancelled.Add(1)
	cancel = s.Watch(func(Event[item]) {
		close(inHandler)
		<-proceed
		cancel()
	})
	<-inHandler
	go func() {
		defer cancelled.Done()
		cancel()
	}()
	// Let the outside cancel begin waiting; whether or not it has, the handler's cancel must
	// not block.
	waitFor(t, "outside cancel to mark the watcher stopped", func() bool {
		return stoppedWatcherCount(s) == 0
	})
	close(proceed)
	done := make(chan struct{})
	go func() { cancelled.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("cancel inside the handler deadlocked against a cancel from outside")
	}
}

// stoppedWatcherCount returns how many watchers are still attached to s.
func stoppedWatcherCount[T any](s *Static[T]) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.watchers)
}

func TestWatchCancelOutsideWaitsForHandler(t *testing.T) {
	s := NewStatic[item]()
	s.Upsert(item{Name: "a"})
	entered := make(chan struct{})
	release := make(chan struct{})
	var inCall atomic.Bool
	var calls atomic.Int64
	cancel := s.Watch(func(Event[item]) {
		calls.Add(1)
		inCall.Store(true)
		if calls.Load() == 1 {
			close(entered)
			<-release
		}
		inCall.Store(false)
	})
	<-entered
	s.Upsert(item{Name: "b"}) // queued behind the blocked call
	returned := make(chan struct{})
	go func() { cancel(); close(returned) }()
	select {
	case <-returned:
		t.Fatal("cancel returned while the handler was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-returned
	if inCall.Load() {
		t.Error("handler still running after cancel returned")
	}
	settle()
	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1: the queued event must not be delivered", n)
	}
}

// TestWatchNoCallAfterCancel hammers a collection while cancelling watchers, and checks that
// no handler call starts after its cancel has returned.
func TestWatchNoCallAfterCancel(t *testing.T) {
	s := NewStatic[item]()
	stop := make(chan struct{})
	var writers sync.WaitGroup
	writers.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.Upsert(item{Name: strconv.Itoa(i % 50), Value: i})
		}
	})
	var late atomic.Int64
	for range 200 {
		var cancelled atomic.Bool
		cancel := s.Watch(func(Event[item]) {
			if cancelled.Load() {
				late.Add(1)
			}
		})
		cancel()
		cancelled.Store(true)
	}
	close(stop)
	writers.Wait()
	settle()
	if n := late.Load(); n != 0 {
		t.Errorf("%d handler calls after cancel returned", n)
	}
}

func TestWatchCancelIdempotentConcurrent(t *testing.T) {
	s := NewStatic[item]()
	cancel := s.Watch(func(Event[item]) {})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(cancel)
	}
	wg.Wait()
	if stoppedWatcherCount(s) != 0 {
		t.Error("watcher still attached after cancel")
	}
}
