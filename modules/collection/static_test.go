package collection

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestStaticResetDiffs(t *testing.T) {
	a1, b1, c1 := item{Name: "a", Value: 1}, item{Name: "b", Value: 1}, item{Name: "c", Value: 1}
	tests := []struct {
		name   string
		before []item
		reset  []item
		want   []string
	}{
		{"empty to items", nil, []item{a1, b1}, []string{"added a={a  1}", "added b={b  1}"}},
		{"unchanged emits nothing", []item{a1, b1}, []item{b1, a1}, []string{}},
		{"update", []item{a1}, []item{{Name: "a", Value: 2}}, []string{"updated a={a  1}->{a  2}"}},
		{"delete missing", []item{a1, b1, c1}, []item{b1}, []string{"deleted a={a  1}", "deleted c={c  1}"}},
		{"mixed", []item{a1, b1}, []item{{Name: "a", Value: 3}, c1},
			[]string{"updated a={a  1}->{a  3}", "deleted b={b  1}", "added c={c  1}"}},
		{"to empty", []item{a1}, nil, []string{"deleted a={a  1}"}},
		{"duplicate key: later wins, one event", []item{a1}, []item{{Name: "a", Value: 5}, {Name: "a", Value: 6}},
			[]string{"updated a={a  1}->{a  6}"}},
		{"duplicate key back to current: nothing", []item{a1}, []item{{Name: "a", Value: 5}, a1}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStatic[item]()
			s.Reset(tt.before)
			before := s.EventCount()
			got := summary(s.Reset(tt.reset))
			if n := s.EventCount() - before; n != uint64(len(tt.want)) {
				t.Errorf("EventCount grew by %d, want %d", n, len(tt.want))
			}
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("events = %q, want %q", got, want)
			}
			final := map[string]item{}
			for _, it := range tt.reset {
				final[it.Name] = it
			}
			var wantItems []string
			for k, v := range final {
				wantItems = append(wantItems, fmt.Sprintf("%s=%v", k, v))
			}
			slices.Sort(wantItems)
			if got := contents[item](s); !slices.Equal(got, wantItems) {
				t.Errorf("contents = %q, want %q", got, wantItems)
			}
			if !s.HasSynced() {
				t.Error("Reset must mark the collection synced")
			}
		})
	}
}

func TestStaticUpsertDelete(t *testing.T) {
	s := NewStatic[item](WithName("things"))
	if s.Name() != "things" {
		t.Errorf("Name = %q", s.Name())
	}
	steps := []struct {
		name string
		do   func() []Event[item]
		want []string
	}{
		{"add", func() []Event[item] { return s.Upsert(item{Name: "a", Value: 1}) }, []string{"added a={a  1}"}},
		{"same", func() []Event[item] { return s.Upsert(item{Name: "a", Value: 1}) }, nil},
		{"update", func() []Event[item] { return s.Upsert(item{Name: "a", Value: 2}) }, []string{"updated a={a  1}->{a  2}"}},
		{"delete absent", func() []Event[item] { return s.Delete("zzz") }, nil},
		{"delete", func() []Event[item] { return s.Delete("a") }, []string{"deleted a={a  2}"}},
		{"delete again", func() []Event[item] { return s.Delete("a") }, nil},
	}
	for _, st := range steps {
		if got := summary(st.do()); !slices.Equal(got, st.want) && (len(got) != 0 || len(st.want) != 0) {
			t.Errorf("%s: events = %q, want %q", st.name, got, st.want)
		}
	}
	if s.Len() != 0 {
		t.Errorf("Len = %d", s.Len())
	}
	if _, ok := s.Get("a"); ok {
		t.Error("Get after delete found the item")
	}
	if s.HasSynced() {
		t.Error("Upsert and Delete must not mark the collection synced")
	}
}

// spec is a struct reached through a pointer; two pointers to equal values are no change.
type spec struct {
	Name  string
	Ports []int
	Inner *spec
}

func TestStaticPointerEqualitySuppressed(t *testing.T) {
	s := NewStatic[*spec](WithKey(func(p *spec) string { return p.Name }))
	mk := func(port int) *spec { return &spec{Name: "x", Ports: []int{port}, Inner: &spec{Name: "in"}} }
	if ev := s.Upsert(mk(80)); len(ev) != 1 {
		t.Fatalf("first upsert: %d events", len(ev))
	}
	rec := watch[*spec](t, s)
	waitFor(t, "replay", func() bool { return rec.len() == 1 })
	if ev := s.Upsert(mk(80)); len(ev) != 0 {
		t.Errorf("different pointer to an equal value emitted %v", summary(ev))
	}
	if ev := s.Reset([]*spec{mk(80)}); len(ev) != 0 {
		t.Errorf("Reset with an equal value emitted %v", summary(ev))
	}
	if ev := s.Upsert(mk(81)); len(ev) != 1 || ev[0].Type != Updated {
		t.Errorf("changed value: events %v", summary(ev))
	}
	waitFor(t, "update delivered", func() bool { return rec.len() == 2 })
	settle()
	if rec.len() != 2 {
		t.Errorf("watcher saw %d events, want 2", rec.len())
	}
}

// withPtr is comparable with ==, but holds a pointer: its equality must follow the pointee.
type withPtr struct {
	Name string
	S    *spec
}

func (w withPtr) Key() string { return w.Name }

func TestStaticComparableStructWithPointerComparesPointee(t *testing.T) {
	s := NewStatic[withPtr]()
	s.Upsert(withPtr{Name: "a", S: &spec{Name: "s"}})
	if ev := s.Upsert(withPtr{Name: "a", S: &spec{Name: "s"}}); len(ev) != 0 {
		t.Errorf("equal pointee emitted %v", summary(ev))
	}
}

// anyVal holds an interface; a dynamic value that == cannot compare must not panic.
type anyVal struct {
	Name string
	V    any
}

func (a anyVal) Key() string { return a.Name }

func TestStaticInterfaceFieldWithUncomparableValue(t *testing.T) {
	s := NewStatic[anyVal]()
	s.Upsert(anyVal{Name: "a", V: []int{1}})
	if ev := s.Upsert(anyVal{Name: "a", V: []int{1}}); len(ev) != 0 {
		t.Errorf("equal value emitted %v", summary(ev))
	}
	if ev := s.Upsert(anyVal{Name: "a", V: []int{2}}); len(ev) != 1 {
		t.Errorf("changed value emitted %v", summary(ev))
	}
}

func TestStaticWithEqual(t *testing.T) {
	// Only Group matters to this collection.
	s := NewStatic[item](WithEqual(func(a, b item) bool { return a.Group == b.Group }))
	s.Upsert(item{Name: "a", Group: "g", Value: 1})
	if ev := s.Upsert(item{Name: "a", Group: "g", Value: 2}); len(ev) != 0 {
		t.Errorf("WithEqual ignored: %v", summary(ev))
	}
	if ev := s.Upsert(item{Name: "a", Group: "h", Value: 2}); len(ev) != 1 {
		t.Errorf("change not emitted: %v", summary(ev))
	}
}

func TestStaticSynced(t *testing.T) {
	tests := []struct {
		name string
		do   func(s *Static[item])
	}{
		{"MarkSynced", func(s *Static[item]) { s.MarkSynced() }},
		{"Reset", func(s *Static[item]) { s.Reset([]item{{Name: "a"}}) }},
		{"empty Reset", func(s *Static[item]) { s.Reset(nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStatic[item]()
			s.Upsert(item{Name: "x"})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			if err := WaitSynced(ctx, s); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("WaitSynced before sync = %v, want deadline exceeded", err)
			}
			select {
			case <-s.Synced():
				t.Fatal("Synced closed too early")
			default:
			}
			tt.do(s)
			if !s.HasSynced() {
				t.Error("HasSynced = false")
			}
			select {
			case <-s.Synced():
			default:
				t.Error("Synced not closed")
			}
			if err := WaitSynced(context.Background(), s); err != nil {
				t.Errorf("WaitSynced = %v", err)
			}
			tt.do(s) // a second sync neither panics nor un-syncs
			if !s.HasSynced() {
				t.Error("HasSynced went back to false")
			}
		})
	}
}

func TestWaitSyncedCause(t *testing.T) {
	s := NewStatic[item]()
	cause := errors.New("source gave up")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if err := WaitSynced(ctx, NewVar(1), s); !errors.Is(err, cause) {
		t.Errorf("WaitSynced = %v, want %v", err, cause)
	}
}

func TestStaticConcurrentMarkSynced(t *testing.T) {
	s := NewStatic[item]()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(s.MarkSynced)
	}
	wg.Wait()
	<-s.Synced()
}

func TestStaticSetError(t *testing.T) {
	s := NewStatic[item]()
	s.Upsert(item{Name: "a"})
	if s.LastError() != nil {
		t.Errorf("LastError = %v", s.LastError())
	}
	err := errors.New("watch failed")
	s.SetError(err)
	if !errors.Is(s.LastError(), err) {
		t.Errorf("LastError = %v", s.LastError())
	}
	if s.Len() != 1 {
		t.Error("an error must not drop the last good items")
	}
	s.SetError(nil)
	if s.LastError() != nil {
		t.Errorf("LastError after clear = %v", s.LastError())
	}
}

func TestStaticAnyAccessors(t *testing.T) {
	s := NewStatic[item]()
	s.Upsert(item{Name: "a", Value: 1}, item{Name: "b", Value: 2})
	if v, ok := s.GetAny("a"); !ok || v.(item).Value != 1 {
		t.Errorf("GetAny(a) = %v, %v", v, ok)
	}
	if v, ok := s.GetAny("zz"); ok || v != nil {
		t.Errorf("GetAny(zz) = %v, %v", v, ok)
	}
	if got := s.ListAny(); len(got) != 2 {
		t.Errorf("ListAny = %v", got)
	}
	if k := s.KeyOf(item{Name: "q"}); k != "q" {
		t.Errorf("KeyOf = %q", k)
	}
	var info Info = s
	if info.Len() != 2 {
		t.Errorf("Len = %d", info.Len())
	}
}

func TestEventHelpers(t *testing.T) {
	if got := (Event[int]{Type: Deleted, Old: 1}).Latest(); got != 1 {
		t.Errorf("Latest of delete = %d", got)
	}
	if got := (Event[int]{Type: Updated, Old: 1, New: 2}).Latest(); got != 2 {
		t.Errorf("Latest of update = %d", got)
	}
	for typ, want := range map[EventType]string{Added: "added", Updated: "updated", Deleted: "deleted", 0: "unknown"} {
		if typ.String() != want {
			t.Errorf("%d.String() = %q", typ, typ.String())
		}
	}
}
