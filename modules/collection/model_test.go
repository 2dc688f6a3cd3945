package collection

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// ownersModel is the collision rule of FlatMap written the obvious way: per output key, its
// claimants and its owner. The owner is the first claimant; when it withdraws, the smallest
// remaining claimant takes over.
type ownersModel struct {
	claims map[string]map[string]string // output key → input key → value
	owner  map[string]string
	outs   map[string][]string // input key → output keys
}

func (m *ownersModel) set(in string, outs []out) {
	vals := map[string]string{}
	var keys []string
	for _, o := range outs {
		if _, ok := vals[o.K]; !ok {
			keys = append(keys, o.K)
		}
		vals[o.K] = o.V
	}
	for _, k := range m.outs[in] {
		if _, still := vals[k]; still {
			continue
		}
		delete(m.claims[k], in)
		if m.owner[k] == in {
			delete(m.owner, k)
			if len(m.claims[k]) > 0 {
				m.owner[k] = slices.Min(slices.Collect(maps.Keys(m.claims[k])))
			}
		}
	}
	for _, k := range keys {
		if m.claims[k] == nil {
			m.claims[k] = map[string]string{}
		}
		m.claims[k][in] = vals[k]
		if _, ok := m.owner[k]; !ok {
			m.owner[k] = in
		}
	}
	m.outs[in] = keys
}

func (m *ownersModel) contents() []string {
	var got []string
	for k, in := range m.owner {
		got = append(got, fmt.Sprintf("%s=%v", k, out{K: k, V: m.claims[k][in]}))
	}
	slices.Sort(got)
	return got
}

// replay applies events to a map, checking that each is consistent with the state so far.
func replay[T any](t *testing.T, events []Event[T], keyOf func(T) string) map[string]T {
	t.Helper()
	state := map[string]T{}
	for _, e := range events {
		_, had := state[e.Key]
		switch e.Type {
		case Added:
			if had {
				t.Fatalf("added %s twice", e.Key)
			}
			state[e.Key] = e.New
		case Updated:
			if !had || fmt.Sprint(state[e.Key]) != fmt.Sprint(e.Old) {
				t.Fatalf("update of %s from %v, state has %v", e.Key, e.Old, state[e.Key])
			}
			state[e.Key] = e.New
		case Deleted:
			if !had {
				t.Fatalf("deleted absent %s", e.Key)
			}
			delete(state, e.Key)
		}
		if e.Type != Deleted && keyOf(e.New) != e.Key {
			t.Fatalf("event key %s for item keyed %s", e.Key, keyOf(e.New))
		}
	}
	return state
}

func randomGroup(r *rand.Rand, outKeys int) string { return randomParts(r, outKeys, 4) }

func randomParts(r *rand.Rand, outKeys, maxParts int) string {
	parts := make([]string, r.IntN(maxParts))
	for i := range parts {
		parts[i] = "o" + fmt.Sprint(r.IntN(outKeys))
	}
	return strings.Join(parts, ",")
}

func splitOuts(i item) []out {
	var outs []out
	for p := range strings.SplitSeq(i.Group, ",") {
		if p != "" {
			outs = append(outs, out{K: p, V: fmt.Sprintf("%s.%d", i.Name, i.Value)})
		}
	}
	return outs
}

func TestFlatMapMatchesModel(t *testing.T) {
	for seed := range uint64(40) {
		// Odd seeds use large fan-outs, beyond membership's linear scan.
		outKeys, maxParts := 6, 4
		if seed%2 == 1 {
			outKeys, maxParts = 40, 30
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 1))
			s := NewStatic[item]()
			fm := FlatMap(s, splitOuts)
			defer fm.Stop()
			rec := watch[out](t, fm)
			model := &ownersModel{claims: map[string]map[string]string{}, owner: map[string]string{}, outs: map[string][]string{}}
			for range 400 {
				name := "i" + fmt.Sprint(r.IntN(12))
				if r.IntN(5) == 0 {
					s.Delete(name)
					model.set(name, nil)
					continue
				}
				it := item{Name: name, Group: randomParts(r, outKeys, maxParts), Value: r.IntN(3)}
				s.Upsert(it)
				model.set(name, splitOuts(it))
			}
			want := model.contents()
			waitContents[out](t, fm, want...)
			waitReplay(t, rec, fm, out.Key)
		})
	}
}

func TestMergeMatchesModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 2))
			ins := []*Static[item]{NewStatic[item](), NewStatic[item](), NewStatic[item]()}
			m := Merge([]Collection[item]{ins[0], ins[1], ins[2]})
			defer m.Stop()
			rec := watch[item](t, m)
			for range 300 {
				in := ins[r.IntN(len(ins))]
				name := "k" + fmt.Sprint(r.IntN(8))
				if r.IntN(3) == 0 {
					in.Delete(name)
				} else {
					in.Upsert(item{Name: name, Value: r.IntN(4)})
				}
			}
			var want []string
			for k := range 8 {
				for _, in := range ins {
					if v, ok := in.Get("k" + fmt.Sprint(k)); ok {
						want = append(want, fmt.Sprintf("%s=%v", v.Name, v))
						break
					}
				}
			}
			waitContents[item](t, m, want...)
			waitReplay(t, rec, m, item.Key)
		})
	}
}

func TestJoinMatchesModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 3))
			as, bs := NewStatic[item](), NewStatic[item]()
			f := func(a item, ms []item) (out, bool) {
				var vs []string
				for _, m := range ms {
					vs = append(vs, fmt.Sprintf("%s.%d", m.Name, m.Value))
				}
				return out{K: a.Name, V: strings.Join(vs, ",")}, a.Value != 0
			}
			on := func(i item) []string { return strings.Split(i.Group, ",") }
			j := Join(as, bs, on, on, f)
			defer j.Stop()
			rec := watch[out](t, j)
			for range 300 {
				side := as
				if r.IntN(2) == 0 {
					side = bs
				}
				name := "x" + fmt.Sprint(r.IntN(8))
				if r.IntN(4) == 0 {
					side.Delete(name)
				} else {
					side.Upsert(item{Name: name, Group: randomGroup(r, 4), Value: r.IntN(3)})
				}
			}
			var want []string
			for _, a := range as.List() {
				jks := on(a)
				var ms []item
				for _, b := range bs.List() {
					for _, k := range on(b) {
						if slices.Contains(jks, k) {
							ms = append(ms, b)
							break
						}
					}
				}
				slices.SortFunc(ms, func(x, y item) int { return strings.Compare(x.Name, y.Name) })
				if o, ok := f(a, ms); ok {
					want = append(want, fmt.Sprintf("%s=%v", o.K, o))
				}
			}
			waitContents[out](t, j, want...)
			waitReplay(t, rec, j, out.Key)
		})
	}
}

// waitReplay waits until the recorded events, replayed, give c's contents.
func waitReplay[T any](t *testing.T, rec *recorder[T], c Collection[T], keyOf func(T) string) {
	t.Helper()
	want := contents(c)
	waitFor(t, "events to replay to the contents", func() bool {
		var got []string
		for k, v := range replay(t, rec.get(), keyOf) {
			got = append(got, fmt.Sprintf("%s=%v", k, v))
		}
		slices.Sort(got)
		return slices.Equal(got, want)
	})
}

// TestFlatMapIdentityThenCollisions: outputs under their inputs' own keys need no
// bookkeeping until another key appears; from then on, collisions with those earlier
// outputs follow the usual rule. The switch happens at every point of a write.
func TestFlatMapIdentityThenCollisions(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 4))
			s := NewStatic[item]()
			fm := FlatMap(s, splitOuts)
			defer fm.Stop()
			rec := watch[out](t, fm)
			model := &ownersModel{claims: map[string]map[string]string{}, owner: map[string]string{}, outs: map[string][]string{}}
			write := func(items []item, deletes []string) {
				s.Upsert(items...)
				for _, it := range items {
					model.set(it.Name, splitOuts(it))
				}
				s.Delete(deletes...)
				for _, d := range deletes {
					model.set(d, nil)
				}
			}
			// Identity phase: each input's output is keyed by its own name; some are
			// withdrawn, some replaced.
			for range 30 {
				name := "i" + fmt.Sprint(r.IntN(8))
				switch r.IntN(4) {
				case 0:
					write(nil, []string{name})
				case 1:
					write([]item{{Name: name}}, nil) // no output at all
				default:
					write([]item{{Name: name, Group: name, Value: r.IntN(3)}}, nil)
				}
			}
			if r.IntN(2) == 0 {
				waitFor(t, "identity phase applied", func() bool { return slices.Equal(contents[out](fm), model.contents()) })
			}
			// One write switches modes in its middle: identity outputs before and after the
			// first foreign key.
			batch := []item{{Name: "i1", Group: "i1", Value: 7}, {Name: "i2", Group: "i3"}, {Name: "i4", Group: "i4", Value: 9}}
			write(batch, nil)
			// Then anything goes, over keys that are also input names.
			for range 200 {
				name := "i" + fmt.Sprint(r.IntN(8))
				if r.IntN(5) == 0 {
					write(nil, []string{name})
					continue
				}
				parts := make([]string, r.IntN(3))
				for i := range parts {
					parts[i] = "i" + fmt.Sprint(r.IntN(8))
				}
				write([]item{{Name: name, Group: strings.Join(parts, ","), Value: r.IntN(3)}}, nil)
			}
			waitContents[out](t, fm, model.contents()...)
			waitReplay(t, rec, fm, out.Key)
		})
	}
}
