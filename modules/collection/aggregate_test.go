package collection

import (
	"strconv"
	"testing"
)

func TestCount(t *testing.T) {
	s := NewStatic[item]()
	n := Count(s)
	defer n.Stop()
	if n.Name() != "count(static)" {
		t.Errorf("name %q", n.Name())
	}
	rec := watch[int](t, n)
	steps := []struct {
		name string
		do   func()
		want int
	}{
		{"add 3", func() { s.Upsert(item{Name: "a"}, item{Name: "b"}, item{Name: "c"}) }, 3},
		{"update", func() { s.Upsert(item{Name: "a", Value: 1}) }, 3},
		{"delete", func() { s.Delete("b") }, 2},
		{"reset", func() { s.Reset([]item{{Name: "x"}}) }, 1},
		{"empty", func() { s.Reset(nil) }, 0},
	}
	for _, st := range steps {
		st.do()
		waitFor(t, st.name, func() bool { return n.Value() == st.want })
	}
	if !n.HasSynced() {
		t.Error("count not synced after its input")
	}
	// An update keeps the count, so it emits nothing; the replay plus 3,2,1,0 changes remain.
	settle()
	var seen []int
	for _, e := range rec.get() {
		seen = append(seen, e.Latest())
	}
	if len(seen) == 0 || seen[len(seen)-1] != 0 {
		t.Errorf("count events %v", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] == seen[i-1] {
			t.Errorf("equal consecutive values emitted: %v", seen)
		}
	}
}

func TestAggregateSum(t *testing.T) {
	s := NewStatic[item]()
	sum := Aggregate(s, 0,
		func(acc int, i item) int { return acc + i.Value },
		func(acc int, i item) int { return acc - i.Value })
	defer sum.Stop()
	s.Upsert(item{Name: "a", Value: 5}, item{Name: "b", Value: 7})
	waitFor(t, "sum 12", func() bool { return sum.Value() == 12 })
	s.Upsert(item{Name: "a", Value: 1})
	waitFor(t, "sum 8", func() bool { return sum.Value() == 8 })
	s.Delete("b")
	waitFor(t, "sum 1", func() bool { return sum.Value() == 1 })
	if v, ok := sum.Get(SingletonKey); !ok || v != 1 {
		t.Errorf("Get(SingletonKey) = %v, %v", v, ok)
	}
	if sum.Len() != 1 {
		t.Errorf("singleton Len = %d", sum.Len())
	}
}

// limit is a config item: a connection limit some policy asks for.
type limit struct {
	Name string
	Max  int
}

func (l limit) Key() string { return l.Name }

// defaultConnectionLimit is the example of a user-defined singleton: the smallest limit any
// policy asks for, or 1024 when none does. Reduce, because a minimum cannot be kept
// incrementally under deletes.
func defaultConnectionLimit(policies Collection[limit]) *Singleton[int] {
	return Reduce(policies, func(ls []limit) int {
		m := 1024
		for _, l := range ls {
			m = min(m, l.Max)
		}
		return m
	}, WithName("default-connection-limit"))
}

func TestReduceDefaultConnectionLimit(t *testing.T) {
	policies := NewStatic[limit]()
	lim := defaultConnectionLimit(policies)
	defer lim.Stop()
	if lim.Value() != 1024 || lim.Name() != "default-connection-limit" {
		t.Errorf("initial %d %q", lim.Value(), lim.Name())
	}
	rec := watch[int](t, lim)
	policies.Upsert(limit{"a", 100}, limit{"b", 50})
	waitFor(t, "50", func() bool { return lim.Value() == 50 })
	policies.Upsert(limit{"c", 5000}) // no change to the minimum: no event
	policies.Delete("b")
	waitFor(t, "100", func() bool { return lim.Value() == 100 })
	policies.Reset(nil)
	waitFor(t, "default", func() bool { return lim.Value() == 1024 })
	waitFor(t, "synced", lim.HasSynced)
	settle()
	want := []string{"added singleton=1024", "updated singleton=1024->50", "updated singleton=50->100", "updated singleton=100->1024"}
	var got []string
	for _, e := range rec.get() {
		got = append(got, eventString(e))
	}
	if len(got) != len(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestVar(t *testing.T) {
	v := NewVar(10, WithName("limit"))
	defer v.Stop()
	if !v.HasSynced() || v.Value() != 10 || v.Name() != "limit" {
		t.Fatalf("NewVar: synced %v value %d name %q", v.HasSynced(), v.Value(), v.Name())
	}
	rec := watch[int](t, v)
	waitFor(t, "replay", func() bool { return rec.len() == 1 })
	v.Set(10)
	v.Set(20)
	waitFor(t, "update", func() bool { return rec.len() == 2 })
	v.Set(20)
	settle()
	if got := summary(rec.get()); len(got) != 2 || got[1] != "updated singleton=10->20" {
		t.Errorf("events %q", got)
	}
}

// TestVarDrivesDerived: a Var joined into a derivation recomputes every dependant.
func TestVarDrivesDerived(t *testing.T) {
	suffix := NewVar(".local")
	names := NewStatic[item]()
	fq := Join(names, suffix,
		func(item) []string { return []string{SingletonKey} },
		func(string) []string { return []string{SingletonKey} },
		func(i item, s []string) (out, bool) {
			if len(s) != 1 {
				return out{}, false
			}
			return out{K: i.Name, V: i.Name + s[0]}, true
		})
	defer fq.Stop()
	names.Upsert(item{Name: "a"}, item{Name: "b"})
	waitContents[out](t, fq, "a={a a.local}", "b={b b.local}")
	suffix.Set(".cluster")
	waitContents[out](t, fq, "a={a a.cluster}", "b={b b.cluster}")
}

func TestAggregateManyItems(t *testing.T) {
	s := NewStatic[item]()
	n := Count(s)
	defer n.Stop()
	items := make([]item, 10000)
	for i := range items {
		items[i] = item{Name: strconv.Itoa(i)}
	}
	s.Reset(items)
	<-n.Synced()
	if n.Value() != len(items) {
		t.Errorf("count = %d after sync", n.Value())
	}
}
