package collection

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// slice is an EndpointSlice-like item: a named set of addresses for one service.
type slice struct {
	NS, Name, Service string
	Addrs             []string
}

func (s slice) Key() string { return s.NS + "/" + s.Name }

// endpoints is the join's output: a service and every address behind it.
type endpoints struct {
	Service string
	Addrs   []string
}

func (e endpoints) Key() string { return e.Service }

func joinServices(t *testing.T, calls *counter) (*Static[*corev1.Service], *Static[slice], *Derived[endpoints]) {
	svcs := NewStatic[*corev1.Service]()
	slices_ := NewStatic[slice]()
	j := Join(svcs, slices_,
		func(s *corev1.Service) []string { return []string{s.Namespace + "/" + s.Name} },
		func(s slice) []string { return []string{s.NS + "/" + s.Service} },
		func(s *corev1.Service, bs []slice) (endpoints, bool) {
			k := s.Namespace + "/" + s.Name
			calls.inc(k)
			var addrs []string
			for _, b := range bs {
				addrs = append(addrs, b.Name+":"+strings.Join(b.Addrs, "+"))
			}
			return endpoints{Service: k, Addrs: addrs}, true
		})
	t.Cleanup(j.Stop)
	return svcs, slices_, j
}

func TestJoinServicesEndpointSlices(t *testing.T) {
	var calls counter
	svcs, eps, j := joinServices(t, &calls)
	svcs.Upsert(svc("ns", "web"), svc("ns", "db"), svc("other", "web"))
	eps.Upsert(
		slice{NS: "ns", Name: "web-2", Service: "web", Addrs: []string{"10.0.0.2"}},
		slice{NS: "ns", Name: "web-1", Service: "web", Addrs: []string{"10.0.0.1"}},
		slice{NS: "ns", Name: "db-1", Service: "db", Addrs: []string{"10.0.1.1"}},
		slice{NS: "ns", Name: "orphan", Service: "gone", Addrs: []string{"10.9.9.9"}},
	)
	waitContents[endpoints](t, j,
		"ns/web={ns/web [web-1:10.0.0.1 web-2:10.0.0.2]}", // sorted by slice key
		"ns/db={ns/db [db-1:10.0.1.1]}",
		"other/web={other/web []}")

	// A change to one slice recomputes only its service.
	calls.reset()
	eps.Upsert(slice{NS: "ns", Name: "db-1", Service: "db", Addrs: []string{"10.0.1.2"}})
	waitContents[endpoints](t, j,
		"ns/web={ns/web [web-1:10.0.0.1 web-2:10.0.0.2]}",
		"ns/db={ns/db [db-1:10.0.1.2]}",
		"other/web={other/web []}")
	settle()
	if c, cdb := calls.total(), calls.get("ns/db"); c != 1 || cdb != 1 {
		t.Errorf("f calls after one slice change: total %d, ns/db %d; want 1, 1", c, cdb)
	}

	// A slice moving from one service to another recomputes both, and nothing else.
	calls.reset()
	eps.Upsert(slice{NS: "ns", Name: "web-2", Service: "db", Addrs: []string{"10.0.0.2"}})
	waitContents[endpoints](t, j,
		"ns/web={ns/web [web-1:10.0.0.1]}",
		"ns/db={ns/db [db-1:10.0.1.2 web-2:10.0.0.2]}",
		"other/web={other/web []}")
	settle()
	if c := calls.total(); c != 2 || calls.get("ns/web") != 1 || calls.get("ns/db") != 1 {
		t.Errorf("f calls after a slice moved: %v", calls.snapshot())
	}

	// An orphan slice changing calls f for nobody.
	calls.reset()
	eps.Upsert(slice{NS: "ns", Name: "orphan", Service: "gone", Addrs: []string{"10.9.9.8"}})
	eps.Delete("ns/orphan")
	// A service update recomputes only that service.
	svcs.Upsert(func() *corev1.Service { s := svc("other", "web"); s.Labels = map[string]string{"a": "b"}; return s }())
	waitFor(t, "service recompute", func() bool { return calls.get("other/web") == 1 })
	settle()
	if c := calls.total(); c != 1 {
		t.Errorf("f calls: %v", calls.snapshot())
	}

	// Deletes on both sides.
	eps.Delete("ns/web-1")
	waitContents[endpoints](t, j,
		"ns/web={ns/web []}",
		"ns/db={ns/db [db-1:10.0.1.2 web-2:10.0.0.2]}",
		"other/web={other/web []}")
	svcs.Delete("ns/db")
	waitContents[endpoints](t, j, "ns/web={ns/web []}", "other/web={other/web []}")
	// The slices of a deleted service come back when it does.
	svcs.Upsert(svc("ns", "db"))
	waitContents[endpoints](t, j,
		"ns/web={ns/web []}",
		"ns/db={ns/db [db-1:10.0.1.2 web-2:10.0.0.2]}",
		"other/web={other/web []}")
	if inner := len(j.store.items); inner != 3 {
		t.Errorf("store has %d items", inner)
	}
}

// TestJoinMultipleKeys: an a item with several join keys sees the b items of all of them,
// each once even if it matches on more than one.
func TestJoinMultipleKeys(t *testing.T) {
	type route struct {
		Name     string
		Backends []string
	}
	rs := NewStatic[route](WithKey(func(r route) string { return r.Name }))
	bs := NewStatic[slice]()
	var calls counter
	j := Join(rs, bs,
		func(r route) []string { return r.Backends },
		func(s slice) []string { return append([]string{s.Service}, s.Addrs...) }, // Addrs abused as extra keys
		func(r route, matches []slice) (out, bool) {
			calls.inc(r.Name)
			var names []string
			for _, m := range matches {
				names = append(names, m.Name)
			}
			return out{K: r.Name, V: strings.Join(names, ",")}, len(names) > 0
		})
	defer j.Stop()
	rs.Upsert(route{Name: "r1", Backends: []string{"a", "b"}}, route{Name: "r2", Backends: []string{"b"}})
	bs.Upsert(slice{Name: "s1", Service: "a"}, slice{Name: "s2", Service: "b"}, slice{Name: "s3", Service: "a", Addrs: []string{"b"}})
	waitContents[out](t, j, "r1={r1 s1,s2,s3}", "r2={r2 s2,s3}")

	rs.Upsert(route{Name: "r1", Backends: []string{"b"}})
	waitContents[out](t, j, "r1={r1 s2,s3}", "r2={r2 s2,s3}")

	calls.reset()
	bs.Upsert(slice{Name: "s1", Service: "c"}) // matches nobody now
	bs.Delete("/s2")
	waitContents[out](t, j, "r1={r1 s3}", "r2={r2 s3}")
	settle()
	if c := calls.total(); c != 2 {
		t.Errorf("f calls: %v", calls.snapshot())
	}
	bs.Delete("/s3") // f returns false: outputs withdrawn
	waitContents[out](t, j)
	rs.Delete("r1", "r2")
	bs.Delete("/s1")
	settle()
	jj := j.store
	if len(jj.items) != 0 {
		t.Errorf("items left: %v", jj.items)
	}
}

func TestJoinSyncedWhenBothInputsSynced(t *testing.T) {
	for _, order := range []string{"a first", "b first"} {
		t.Run(order, func(t *testing.T) {
			var calls counter
			svcs, eps, j := joinServices(t, &calls)
			svcs.Upsert(svc("ns", "web"))
			first, second := svcs.MarkSynced, eps.MarkSynced
			if order == "b first" {
				first, second = second, first
			}
			first()
			waitContents[endpoints](t, j, "ns/web={ns/web []}")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if err := WaitSynced(ctx, j); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("join synced with one input: %v", err)
			}
			second()
			if err := WaitSynced(context.Background(), j); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestJoinMatchesSortedByKey(t *testing.T) {
	as := NewStatic[item]()
	bs := NewStatic[item]()
	j := Join(as, bs,
		func(i item) []string { return []string{"g"} },
		func(i item) []string { return []string{i.Group} },
		func(a item, matches []item) (out, bool) {
			var names []string
			for _, m := range matches {
				names = append(names, m.Name)
			}
			if !slices.IsSorted(names) {
				panic("matches not sorted")
			}
			return out{K: a.Name, V: strings.Join(names, ",")}, true
		})
	defer j.Stop()
	as.Upsert(item{Name: "x"})
	for _, n := range []string{"m", "c", "z", "a", "q"} {
		bs.Upsert(item{Name: n, Group: "g"})
	}
	waitContents[out](t, j, "x={x a,c,m,q,z}")
}

// TestJoinStopFromInsideF: f stops its own join while the other input's goroutine waits for
// the join's lock. Stop must neither deadlock nor let that pending computation change the
// stopped collection.
func TestJoinStopFromInsideF(t *testing.T) {
	as, bs := NewStatic[item](), NewStatic[item]()
	var j *Derived[out]
	ready := make(chan struct{})
	inF := make(chan struct{})
	stopped := make(chan struct{})
	j = Join(as, bs,
		func(i item) []string { return []string{"k"} },
		func(i item) []string { return []string{"k"} },
		func(a item, bs []item) (out, bool) {
			<-ready
			if a.Name == "stop" && len(bs) == 0 {
				close(inF)
				// Wait until b's goroutine is blocked on the join's lock.
				waitFor(t, "b's handler to be pending", j.subs[1].busy)
				j.Stop()
				close(stopped)
			}
			return out{K: a.Name, V: fmt.Sprint(len(bs))}, true
		})
	close(ready)
	as.Upsert(item{Name: "stop"})
	<-inF
	bs.Upsert(item{Name: "b"})
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop from inside f deadlocked")
	}
	// The computation that called Stop and the one that waited for it both see the join
	// stopped: its content stays as it was when Stop was called.
	settle()
	if got := contents[out](j); len(got) != 0 {
		t.Errorf("stopped join changed: %q", got)
	}
	j.Stop()
}
