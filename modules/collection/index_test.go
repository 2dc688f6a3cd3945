package collection

import (
	"fmt"
	"strings"
	"testing"
)

func names(items []item) string {
	var out []string
	for _, i := range items {
		out = append(out, i.Name)
	}
	return strings.Join(out, ",")
}

func TestIndexLookup(t *testing.T) {
	s := NewStatic[item]()
	// Group holds comma-separated secondary keys, such as the nodes a pod may run on.
	x := NewIndex(s, func(i item) []string {
		if i.Group == "" {
			return nil
		}
		return strings.Split(i.Group, ",")
	})
	defer x.Stop()
	look := func(k string) func() string { return func() string { return names(x.Lookup(k)) } }
	steps := []struct {
		name string
		do   func()
		want map[string]string // secondary key → names
	}{
		{"add", func() {
			s.Upsert(item{Name: "c", Group: "n1"}, item{Name: "a", Group: "n1,n2"}, item{Name: "b", Group: "n2"})
		}, map[string]string{"n1": "a,c", "n2": "a,b", "n3": ""}},
		{"key change moves", func() { s.Upsert(item{Name: "a", Group: "n3"}) },
			map[string]string{"n1": "c", "n2": "b", "n3": "a"}},
		{"value change updates", func() { s.Upsert(item{Name: "a", Group: "n3", Value: 7}) },
			map[string]string{"n1": "c", "n2": "b", "n3": "a"}},
		{"no keys", func() { s.Upsert(item{Name: "b"}) },
			map[string]string{"n1": "c", "n2": "", "n3": "a"}},
		{"delete", func() { s.Delete("c", "a") },
			map[string]string{"n1": "", "n2": "", "n3": ""}},
	}
	for _, st := range steps {
		st.do()
		for k, want := range st.want {
			waitFor(t, fmt.Sprintf("%s: Lookup(%s) = %q", st.name, k, want), func() bool { return look(k)() == want })
		}
	}
	s.Upsert(item{Name: "z", Group: "n9", Value: 3})
	waitFor(t, "value in index", func() bool { l := x.Lookup("n9"); return len(l) == 1 && l[0].Value == 3 })
	x.mu.RLock()
	if len(x.byKey) != 1 || len(x.keysOf) != 1 {
		t.Errorf("index keeps stale entries: %v %v", x.byKey, x.keysOf)
	}
	x.mu.RUnlock()
}

func TestIndexSyncedAndStop(t *testing.T) {
	s := NewStatic[item]()
	s.Upsert(item{Name: "a", Group: "g"})
	x := NewIndex(s, func(i item) []string { return []string{i.Group} })
	waitFor(t, "indexed", func() bool { return len(x.Lookup("g")) == 1 })
	if x.HasSynced() {
		t.Error("synced before the input")
	}
	s.MarkSynced()
	waitFor(t, "synced", x.HasSynced)
	x.Stop()
	s.Upsert(item{Name: "b", Group: "g"})
	settle()
	if len(x.Lookup("g")) != 1 {
		t.Error("index changed after Stop")
	}
}

func TestIndexIntKeys(t *testing.T) {
	s := NewStatic[item]()
	x := NewIndex(s, func(i item) []int { return []int{i.Value} })
	defer x.Stop()
	s.Upsert(item{Name: "a", Value: 1}, item{Name: "b", Value: 1}, item{Name: "c", Value: 2})
	waitFor(t, "lookup", func() bool { return names(x.Lookup(1)) == "a,b" && names(x.Lookup(2)) == "c" })
}

// TestIndexFReadsIndex: f may read the index it feeds.
func TestIndexFReadsIndex(t *testing.T) {
	s := NewStatic[item]()
	var x *Index[string, item]
	ready := make(chan struct{})
	x = NewIndex(s, func(i item) []string {
		<-ready
		x.Lookup(i.Group)
		x.HasSynced()
		return []string{i.Group}
	})
	defer x.Stop()
	close(ready)
	s.Upsert(item{Name: "a", Group: "g"}, item{Name: "b", Group: "g"})
	waitFor(t, "indexed", func() bool { return len(x.Lookup("g")) == 2 })
}
