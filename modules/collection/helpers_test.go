package collection

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"
)

// waitFor polls cond until it holds or a deadline passes. It is the only way tests wait for
// asynchronous delivery: no bare sleeps as synchronisation.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// settle gives asynchronous machinery a moment to do something it must not do. It is used
// only to check for the absence of events, after a positive condition was already awaited.
func settle() { time.Sleep(20 * time.Millisecond) }

// item is a small keyed value type used across the tests.
type item struct {
	Name  string
	Group string
	Value int
}

func (i item) Key() string { return i.Name }

// recorder collects the events a Watch delivers.
type recorder[T any] struct {
	mu     sync.Mutex
	events []Event[T]
}

func (r *recorder[T]) handle(e Event[T]) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder[T]) get() []Event[T] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder[T]) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// watch starts a recorder on c and cancels it when the test ends.
func watch[T any](t testing.TB, c Collection[T]) *recorder[T] {
	r := &recorder[T]{}
	cancel := c.Watch(r.handle)
	t.Cleanup(cancel)
	return r
}

// summary renders events as "added a=1" strings, sorted, for order-insensitive comparison.
func summary[T any](events []Event[T]) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = eventString(e)
	}
	slices.Sort(out)
	return out
}

func eventString[T any](e Event[T]) string {
	switch e.Type {
	case Added:
		return fmt.Sprintf("added %s=%v", e.Key, e.New)
	case Updated:
		return fmt.Sprintf("updated %s=%v->%v", e.Key, e.Old, e.New)
	case Deleted:
		return fmt.Sprintf("deleted %s=%v", e.Key, e.Old)
	}
	return "?"
}

// contents returns a collection's items as key=value strings, sorted.
func contents[T any](c Collection[T]) []string {
	var out []string
	for _, v := range c.List() {
		out = append(out, fmt.Sprintf("%s=%v", c.KeyOf(v), v))
	}
	slices.Sort(out)
	return out
}

// waitContents waits until c holds exactly want (as contents renders it).
func waitContents[T any](t testing.TB, c Collection[T], want ...string) {
	t.Helper()
	slices.Sort(want)
	var got []string
	cond := func() bool {
		got = contents(c)
		return slices.Equal(got, want) || (len(got) == 0 && len(want) == 0)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %q, want %q", c.Name(), got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// counter counts calls, safely across goroutines.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) inc(k string) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
	c.mu.Unlock()
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

func (c *counter) reset() {
	c.mu.Lock()
	c.n = nil
	c.mu.Unlock()
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}
