package collection

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// journal records starts and stops in order.
type journal struct {
	mu  sync.Mutex
	log []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	j.log = append(j.log, s)
	j.mu.Unlock()
}

func (j *journal) get() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.log)
}

func (j *journal) reset() {
	j.mu.Lock()
	j.log = nil
	j.mu.Unlock()
}

func (j *journal) start(i item) (func(), error) {
	tag := fmt.Sprintf("%s@%d", i.Name, i.Value)
	j.add("start " + tag)
	return func() { j.add("stop " + tag) }, nil
}

func waitJournal(t *testing.T, j *journal, want ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("journal %q", want), func() bool { return slices.Equal(j.get(), want) })
}

func TestRunForEachLifecycle(t *testing.T) {
	s := NewStatic[item]()
	s.Upsert(item{Name: "a"})
	var j journal
	r := RunForEach(s, j.start)
	waitJournal(t, &j, "start a@0")

	s.Upsert(item{Name: "b"})
	waitJournal(t, &j, "start a@0", "start b@0")

	j.reset()
	s.Upsert(item{Name: "a", Value: 1}) // change: stop, then start
	waitJournal(t, &j, "stop a@0", "start a@1")

	j.reset()
	s.Upsert(item{Name: "a", Value: 1}) // unchanged: nothing
	s.Delete("b")                       // delete: stop
	waitJournal(t, &j, "stop b@0")
	settle()
	waitJournal(t, &j, "stop b@0")
	if got := r.Running(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Running = %v", got)
	}

	j.reset()
	r.Stop()
	if got := j.get(); !slices.Equal(got, []string{"stop a@1"}) {
		t.Errorf("Stop: %q", got)
	}
	if len(r.Running()) != 0 {
		t.Error("Running after Stop")
	}
	s.Upsert(item{Name: "c"})
	settle()
	if got := j.get(); len(got) != 1 {
		t.Errorf("activity after Stop: %q", got)
	}
	r.Stop() // idempotent
}

func TestRunForEachStartErrors(t *testing.T) {
	s := NewStatic[item]()
	var j journal
	var reported sync.Map
	boom := errors.New("address in use")
	r := RunForEach(s, func(i item) (func(), error) {
		switch i.Group {
		case "fail":
			return nil, boom
		case "panic":
			panic("bad item " + i.Name)
		case "nilstop":
			j.add("start " + i.Name)
			return nil, nil
		}
		return j.start(i)
	}, OnStartError[item](func(key string, err error) { reported.Store(key, err) }))
	defer r.Stop()

	s.Upsert(item{Name: "ok1"}, item{Name: "bad", Group: "fail"}, item{Name: "p", Group: "panic"},
		item{Name: "ok2"}, item{Name: "n", Group: "nilstop"})
	waitFor(t, "all handled", func() bool { return len(r.Running()) == 3 && len(r.Errors()) == 2 })

	errs := r.Errors()
	if !errors.Is(errs["bad"], boom) {
		t.Errorf("Errors[bad] = %v", errs["bad"])
	}
	if e := errs["p"]; e == nil || !strings.Contains(e.Error(), "panicked") || !strings.Contains(e.Error(), "bad item p") {
		t.Errorf("Errors[p] = %v", e)
	}
	if v, ok := reported.Load("bad"); !ok || !errors.Is(v.(error), boom) {
		t.Errorf("OnStartError(bad) = %v", v)
	}
	if _, ok := reported.Load("p"); !ok {
		t.Error("OnStartError not called for the panic")
	}
	running := r.Running()
	slices.Sort(running)
	if !slices.Equal(running, []string{"n", "ok1", "ok2"}) {
		t.Errorf("Running = %v: a failing item must not disturb the others", running)
	}

	// A fix clears the error; a delete clears it too.
	s.Upsert(item{Name: "bad"})
	s.Delete("p")
	waitFor(t, "errors cleared", func() bool { return len(r.Errors()) == 0 && len(r.Running()) == 4 })
	s.Delete("n") // a nil stop is fine
	waitFor(t, "n stopped", func() bool { return len(r.Running()) == 3 })
}

// TestRunForEachPanickingStop: a stop that panics must not take the loop down.
func TestRunForEachPanickingStop(t *testing.T) {
	s := NewStatic[item]()
	var j journal
	var reported sync.Map
	r := RunForEach(s, func(i item) (func(), error) {
		if i.Group == "badstop" {
			return func() { panic("stop failed") }, nil
		}
		return j.start(i)
	}, OnStartError[item](func(key string, err error) { reported.Store(key, err) }))
	defer r.Stop()
	s.Upsert(item{Name: "x", Group: "badstop"}, item{Name: "y"})
	waitFor(t, "started", func() bool { return len(r.Running()) == 2 })
	s.Delete("x")
	s.Upsert(item{Name: "z"})
	waitJournal(t, &j, "start y@0", "start z@0")
	if e, _ := reported.Load("x"); e == nil || !strings.Contains(e.(error).Error(), "stop failed") {
		t.Errorf("reported error of x = %v", e)
	}
}

// TestRunForEachStopWaitsForStart: Stop during a start waits for it, stops what it started,
// and no start begins after Stop returns.
func TestRunForEachStopWaitsForStart(t *testing.T) {
	s := NewStatic[item]()
	entered := make(chan struct{})
	release := make(chan struct{})
	var starts, stops atomic.Int64
	var afterStop atomic.Bool
	var late atomic.Int64
	r := RunForEach(s, func(i item) (func(), error) {
		if afterStop.Load() {
			late.Add(1)
		}
		starts.Add(1)
		if i.Name == "slow" {
			close(entered)
			<-release
		}
		return func() { stops.Add(1) }, nil
	})
	s.Upsert(item{Name: "slow"})
	<-entered
	for i := range 10 {
		s.Upsert(item{Name: fmt.Sprint("queued", i)})
	}
	returned := make(chan struct{})
	go func() { r.Stop(); afterStop.Store(true); close(returned) }()
	select {
	case <-returned:
		t.Fatal("Stop returned during a start")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-returned
	settle()
	if late.Load() != 0 {
		t.Error("a start began after Stop returned")
	}
	if starts.Load() != stops.Load() {
		t.Errorf("%d starts, %d stops: something is left running", starts.Load(), stops.Load())
	}
}

// TestRunForEachStopFromInsideStart: a start that stops its own ForEach must not deadlock or
// leave its own running thing behind.
func TestRunForEachStopFromInsideStart(t *testing.T) {
	s := NewStatic[item]()
	var r *ForEach[item]
	var stops, starts atomic.Int64
	ready := make(chan struct{})
	stopped := make(chan struct{})
	r = RunForEach(s, func(i item) (func(), error) {
		<-ready
		starts.Add(1)
		if i.Name == "last" {
			r.Stop()
			close(stopped)
		}
		return func() { stops.Add(1) }, nil
	})
	close(ready)
	s.Upsert(item{Name: "a"})
	waitFor(t, "a running", func() bool { return len(r.Running()) == 1 })
	s.Upsert(item{Name: "last"})
	<-stopped
	waitFor(t, "everything stopped", func() bool { return stops.Load() == starts.Load() })
	if n := len(r.Running()); n != 0 {
		t.Errorf("%d running after Stop", n)
	}
	r.Stop()
}

// TestRunForEachListeners is the declarative listener: for each item a TCP listener, each
// answering with its item's name; all closed after Stop.
func TestRunForEachListeners(t *testing.T) {
	s := NewStatic[item]()
	var mu sync.Mutex
	addrs := map[string]string{} // item → address
	var serving sync.WaitGroup
	r := RunForEach(s, func(i item) (func(), error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		mu.Lock()
		addrs[i.Name] = ln.Addr().String()
		mu.Unlock()
		greeting := fmt.Sprintf("%s@%d\n", i.Name, i.Value)
		serving.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte(greeting))
				c.Close()
			}
		})
		return func() { ln.Close() }, nil
	})
	addr := func(name string) string { mu.Lock(); defer mu.Unlock(); return addrs[name] }
	greet := func(a string) (string, error) {
		c, err := net.DialTimeout("tcp", a, time.Second)
		if err != nil {
			return "", err
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		return string(buf[:n]), err
	}

	s.Upsert(item{Name: "a"}, item{Name: "b"}, item{Name: "c"})
	waitFor(t, "three listeners", func() bool { return len(r.Running()) == 3 })
	for _, n := range []string{"a", "b", "c"} {
		if got, err := greet(addr(n)); err != nil || got != n+"@0\n" {
			t.Errorf("listener %s: %q, %v", n, got, err)
		}
	}

	oldB := addr("b")
	s.Upsert(item{Name: "b", Value: 1}) // restart on change
	waitFor(t, "b restarted", func() bool { return addr("b") != oldB })
	if got, err := greet(addr("b")); err != nil || got != "b@1\n" {
		t.Errorf("restarted b: %q, %v", got, err)
	}
	if _, err := greet(oldB); err == nil {
		t.Error("old listener of b still open")
	}

	oldC := addr("c")
	s.Delete("c")
	waitFor(t, "c stopped", func() bool { return len(r.Running()) == 2 })
	if _, err := greet(oldC); err == nil {
		t.Error("listener of a deleted item still open")
	}

	open := []string{addr("a"), addr("b")}
	r.Stop()
	for _, a := range open {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts after Stop", a)
		}
	}
	serving.Wait() // every accept loop has ended
}
