package collection

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestMergePrecedenceAndPromotion(t *testing.T) {
	hi, mid, lo := NewStatic[item](WithName("hi")), NewStatic[item](WithName("mid")), NewStatic[item](WithName("lo"))
	m := Merge([]Collection[item]{hi, mid, lo})
	defer m.Stop()
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"lowest alone", func() { lo.Upsert(item{Name: "k", Group: "lo"}) }, []string{"k={k lo 0}"}},
		{"higher overrides", func() { mid.Upsert(item{Name: "k", Group: "mid"}) }, []string{"k={k mid 0}"}},
		{"lower change hidden", func() { lo.Upsert(item{Name: "k", Group: "lo", Value: 1}) }, []string{"k={k mid 0}"}},
		{"highest overrides", func() { hi.Upsert(item{Name: "k", Group: "hi"}) }, []string{"k={k hi 0}"}},
		{"middle leaves: hidden", func() { mid.Delete("k") }, []string{"k={k hi 0}"}},
		{"winner leaves: lowest promoted", func() { hi.Delete("k") }, []string{"k={k lo 1}"}},
		{"others' keys", func() { hi.Upsert(item{Name: "h"}); mid.Upsert(item{Name: "m"}) },
			[]string{"k={k lo 1}", "h={h  0}", "m={m  0}"}},
		{"last leaves", func() { lo.Delete("k") }, []string{"h={h  0}", "m={m  0}"}},
	}
	for _, st := range steps {
		st.do()
		waitContents[item](t, m, st.want...)
	}
}

func TestMergeInitialStatePrecedence(t *testing.T) {
	for i := range 20 { // the inputs' replays race; the earlier input must win every time
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			a, b := NewStatic[item](), NewStatic[item]()
			for j := range 50 {
				a.Upsert(item{Name: fmt.Sprint(j), Group: "a"})
				b.Upsert(item{Name: fmt.Sprint(j), Group: "b"})
			}
			m := Merge([]Collection[item]{a, b})
			defer m.Stop()
			waitFor(t, "all items from a", func() bool {
				for _, v := range m.List() {
					if v.Group != "a" {
						return false
					}
				}
				return m.Len() == 50
			})
		})
	}
}

func TestMergeSynced(t *testing.T) {
	a, b := NewStatic[item](), NewStatic[item]()
	m := Merge([]Collection[item]{a, b})
	defer m.Stop()
	a.MarkSynced()
	a.Upsert(item{Name: "x"})
	waitContents[item](t, m, "x={x  0}")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := WaitSynced(ctx, m); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("merge synced before all inputs: %v", err)
	}
	b.Reset(nil)
	if err := WaitSynced(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func TestMergeZeroInputs(t *testing.T) {
	m := Merge[item](nil)
	defer m.Stop()
	if !m.HasSynced() || m.Len() != 0 {
		t.Errorf("empty merge: synced %v, len %d", m.HasSynced(), m.Len())
	}
	rec := watch[item](t, m)
	settle()
	if rec.len() != 0 {
		t.Error("events from an empty merge")
	}
}

func TestMergeTooManyInputs(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("65 inputs did not panic")
		}
	}()
	Merge(make([]Collection[item], 65))
}

func TestMergeOfDerived(t *testing.T) {
	s := NewStatic[item]()
	evens := Filter(s, func(i item) bool { return i.Value%2 == 0 })
	defer evens.Stop()
	all := Map(s, func(i item) (item, bool) { i.Group = "all"; return i, true })
	defer all.Stop()
	m := Merge([]Collection[item]{evens, all})
	defer m.Stop()
	s.Upsert(item{Name: "a", Value: 1}, item{Name: "b", Value: 2})
	waitContents[item](t, m, "a={a all 1}", "b={b  2}")
	s.Upsert(item{Name: "b", Value: 3})
	waitContents[item](t, m, "a={a all 1}", "b={b all 3}")
	s.Upsert(item{Name: "a", Value: 4})
	waitContents[item](t, m, "a={a  4}", "b={b all 3}")
}
