package collection

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// out is a derived value keyed by K.
type out struct {
	K, V string
}

func (o out) Key() string { return o.K }

func TestFlatMapOutputsAndDeletes(t *testing.T) {
	s := NewStatic[item]()
	// Each item yields one output per comma-separated part of its Group.
	fm := FlatMap(s, func(i item) []out {
		var outs []out
		for p := range strings.SplitSeq(i.Group, ",") {
			if p != "" {
				outs = append(outs, out{K: p, V: i.Name})
			}
		}
		return outs
	})
	defer fm.Stop()
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"two outputs", func() { s.Upsert(item{Name: "a", Group: "x,y"}) }, []string{"x={x a}", "y={y a}"}},
		{"second input", func() { s.Upsert(item{Name: "b", Group: "z"}) }, []string{"x={x a}", "y={y a}", "z={z b}"}},
		{"shrink outputs", func() { s.Upsert(item{Name: "a", Group: "y"}) }, []string{"y={y a}", "z={z b}"}},
		{"no outputs", func() { s.Upsert(item{Name: "b", Group: ""}) }, []string{"y={y a}"}},
		{"grow back", func() { s.Upsert(item{Name: "b", Group: "q,r"}) }, []string{"y={y a}", "q={q b}", "r={r b}"}},
		{"delete input", func() { s.Delete("b") }, []string{"y={y a}"}},
		{"delete all", func() { s.Reset(nil) }, nil},
	}
	for _, st := range steps {
		st.do()
		waitContents[out](t, fm, st.want...)
	}
}

func TestMapAndFilter(t *testing.T) {
	s := NewStatic[item]()
	m := Map(s, func(i item) (out, bool) {
		return out{K: "m-" + i.Name, V: strconv.Itoa(i.Value)}, i.Value >= 0
	})
	defer m.Stop()
	f := Filter(s, func(i item) bool { return i.Value%2 == 0 })
	defer f.Stop()
	if !strings.HasPrefix(m.Name(), "map(") || !strings.HasPrefix(f.Name(), "filter(") {
		t.Errorf("names: %q %q", m.Name(), f.Name())
	}
	s.Upsert(item{Name: "a", Value: 1}, item{Name: "b", Value: 2}, item{Name: "c", Value: -2})
	waitContents[out](t, m, "m-a={m-a 1}", "m-b={m-b 2}")
	waitContents[item](t, f, "b={b  2}", "c={c  -2}")

	s.Upsert(item{Name: "a", Value: 4}, item{Name: "b", Value: -1})
	waitContents[out](t, m, "m-a={m-a 4}")
	waitContents[item](t, f, "a={a  4}", "c={c  -2}")

	s.Delete("c", "a")
	waitContents[out](t, m)
	waitContents[item](t, f)
}

// TestFlatMapCollisions: two inputs produce the same output key. The first keeps it; the
// other is shadowed and promoted when the first withdraws.
func TestFlatMapCollisions(t *testing.T) {
	s := NewStatic[item]()
	m := Map(s, func(i item) (out, bool) { return out{K: i.Group, V: i.Name}, i.Group != "" })
	defer m.Stop()
	rec := watch[out](t, m)

	s.Upsert(item{Name: "b", Group: "g"})
	waitContents[out](t, m, "g={g b}")
	s.Upsert(item{Name: "a", Group: "g"}) // later claim: shadowed, though "a" < "b"
	s.Upsert(item{Name: "c", Group: "g"})
	s.Upsert(item{Name: "z", Group: "other"})
	waitContents[out](t, m, "g={g b}", "other={other z}")

	s.Upsert(item{Name: "b", Group: "h"}) // winner moves away: a shadowed value is promoted
	waitContents[out](t, m, "g={g a}", "h={h b}", "other={other z}")

	s.Upsert(item{Name: "c", Group: "g", Value: 1}) // shadowed input changes: nothing visible
	s.Delete("a")                                   // winner leaves: c promoted
	waitContents[out](t, m, "g={g c}", "h={h b}", "other={other z}")

	s.Delete("c") // last claimant leaves: deleted
	waitContents[out](t, m, "h={h b}", "other={other z}")

	// The shadowed input withdrawing never changed the visible output.
	var gEvents []string
	for _, e := range rec.get() {
		if e.Key == "g" {
			gEvents = append(gEvents, eventString(e))
		}
	}
	want := []string{"added g={g b}", "updated g={g b}->{g a}", "updated g={g a}->{g c}", "deleted g={g c}"}
	if fmt.Sprint(gEvents) != fmt.Sprint(want) {
		t.Errorf("events of g = %q, want %q", gEvents, want)
	}
}

// TestFlatMapCollisionWithinOneInput: one input producing a key twice keeps the later value,
// and withdrawing it leaves nothing behind.
func TestFlatMapCollisionWithinOneInput(t *testing.T) {
	s := NewStatic[item]()
	fm := FlatMap(s, func(i item) []out {
		return []out{{K: "k", V: i.Name + "1"}, {K: "k", V: i.Name + "2"}}
	})
	defer fm.Stop()
	s.Upsert(item{Name: "a"})
	waitContents[out](t, fm, "k={k a2}")
	s.Upsert(item{Name: "b"})
	s.Delete("a")
	waitContents[out](t, fm, "k={k b2}")
	s.Delete("b")
	waitContents[out](t, fm)
	if n := len(fm.store.items); n != 0 {
		t.Errorf("%d items left", n)
	}
}

// TestFlatMapIncremental: updating one of N inputs calls f exactly once.
func TestFlatMapIncremental(t *testing.T) {
	const n = 500
	s := NewStatic[item]()
	var calls counter
	m := Map(s, func(i item) (out, bool) {
		calls.inc(i.Name)
		return out{K: i.Name, V: strconv.Itoa(i.Value)}, true
	})
	defer m.Stop()
	items := make([]item, n)
	for i := range items {
		items[i] = item{Name: "i" + strconv.Itoa(i)}
	}
	s.Reset(items)
	waitFor(t, "initial load", func() bool { return m.Len() == n && m.HasSynced() })
	if c := calls.total(); c != n {
		t.Errorf("initial load called f %d times, want %d", c, n)
	}
	calls.reset()

	s.Upsert(item{Name: "i7", Value: 1})
	waitFor(t, "update", func() bool { v, _ := m.Get("i7"); return v.V == "1" })
	s.Upsert(item{Name: "i7", Value: 1}) // unchanged: f not called
	s.Delete("i8")
	waitFor(t, "delete", func() bool { return m.Len() == n-1 })
	settle()
	if c, c7 := calls.total(), calls.get("i7"); c != 1 || c7 != 1 {
		t.Errorf("f calls after one update and one delete: total %d, i7 %d; want 1, 1", c, c7)
	}
}

func TestDerivedSyncThroughThreeStages(t *testing.T) {
	s := NewStatic[item]()
	s.Upsert(item{Name: "a", Value: 2})
	m1 := Map(s, func(i item) (item, bool) { i.Value *= 10; return i, true })
	defer m1.Stop()
	f := Filter(m1, func(i item) bool { return i.Value > 0 })
	defer f.Stop()
	m2 := Map(f, func(i item) (out, bool) { return out{K: i.Name, V: strconv.Itoa(i.Value)}, true })
	defer m2.Stop()
	waitContents[out](t, m2, "a={a 20}")
	settle()
	for _, c := range []Info{m1, f, m2} {
		if c.HasSynced() {
			t.Fatalf("%s synced before its source", c.Name())
		}
	}
	s.MarkSynced()
	waitFor(t, "sync to reach the end", func() bool { return m2.HasSynced() })
	<-m2.Synced()
	if !m1.HasSynced() || !f.HasSynced() {
		t.Error("intermediate stages not synced")
	}

	// A chain attached to an already synced source syncs with its content.
	late := Map(s, func(i item) (item, bool) { return i, true })
	defer late.Stop()
	waitFor(t, "late chain synced", func() bool { return late.HasSynced() })
	if late.Len() != 1 {
		t.Errorf("late chain synced with %d items", late.Len())
	}
}

// TestDerivedSyncedImpliesContent: when a derived collection reports synced, it already holds
// the derivation of everything its source held at sync time.
func TestDerivedSyncedImpliesContent(t *testing.T) {
	s := NewStatic[item]()
	m := Map(s, func(i item) (item, bool) { return i, true })
	defer m.Stop()
	items := make([]item, 1000)
	for i := range items {
		items[i] = item{Name: strconv.Itoa(i)}
	}
	s.Reset(items)
	<-m.Synced()
	if m.Len() != len(items) {
		t.Errorf("synced with %d of %d items", m.Len(), len(items))
	}
}

func TestDerivedStopKeepsContent(t *testing.T) {
	s := NewStatic[item]()
	m := Map(s, func(i item) (item, bool) { return i, true })
	s.Upsert(item{Name: "a"})
	waitContents[item](t, m, "a={a  0}")
	m.Stop()
	s.Upsert(item{Name: "b"})
	settle()
	if got := contents[item](m); len(got) != 1 {
		t.Errorf("stopped collection changed: %q", got)
	}
	m.Stop() // idempotent
}

// TestDerivedStopFromInsideF: f stops its own collection; that must not deadlock.
func TestDerivedStopFromInsideF(t *testing.T) {
	s := NewStatic[item]()
	var m *Derived[item]
	ready := make(chan struct{})
	stopped := make(chan struct{})
	m = Map(s, func(i item) (item, bool) {
		<-ready
		if i.Name == "stop" {
			m.Stop()
			close(stopped)
		}
		return i, true
	})
	close(ready)
	s.Upsert(item{Name: "stop"})
	<-stopped
	settle()
	if m.Len() != 0 {
		t.Error("the computation that called Stop still wrote its output")
	}
	m.Stop()
}
