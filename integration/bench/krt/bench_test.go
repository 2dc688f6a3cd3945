// Package krtbench measures caddymesh's collections side by side with Istio's krt, the
// library they descend from, on the same workloads in the same run. It is a module of its
// own so that Istio's dependencies never enter caddymesh's go.mod.
//
// Every benchmark has the sub-benchmarks lib=caddymesh and lib=krt, so benchstat can put
// them next to each other (benchstat -col /lib).
package krtbench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/caddymesh/caddymesh/modules/collection"
	"istio.io/istio/pkg/kube/controllers"
	"istio.io/istio/pkg/kube/krt"
	istiolog "istio.io/istio/pkg/log"
)

func TestMain(m *testing.M) {
	// krt logs one line at info level each time a collection syncs. Collections copy their
	// scope when they are created, so this must happen before any is.
	istiolog.FindScope("krt").SetOutputLevel(istiolog.WarnLevel)
	os.Exit(m.Run())
}

// The item types are those of modules/collection/bench_test.go. Each carries the methods both
// libraries look for, so that they key and compare alike: caddymesh reads Key and Equal, krt
// reads ResourceName and Equals. Without them, caddymesh would compare these plain structs
// with == while krt would fall back to reflect.DeepEqual.

// benchObj is a small object as a source would hold it.
type benchObj struct {
	Name      string
	Namespace string
	Port      int
	Weight    int
	Version   int
}

func (o benchObj) Key() string            { return o.Name }
func (o benchObj) ResourceName() string   { return o.Name }
func (o benchObj) Equal(p benchObj) bool  { return o == p }
func (o benchObj) Equals(p benchObj) bool { return o == p }

// mid is the first stage's transformation.
func (o benchObj) mid() (benchMid, bool) {
	return benchMid{Name: o.Name, Port: o.Port, Version: o.Version}, o.Weight > 0
}

// benchMid is the first stage's output.
type benchMid struct {
	Name    string
	Port    int
	Version int
}

func (m benchMid) Key() string            { return m.Name }
func (m benchMid) ResourceName() string   { return m.Name }
func (m benchMid) Equal(p benchMid) bool  { return m == p }
func (m benchMid) Equals(p benchMid) bool { return m == p }

// keep is the second stage's filter.
func (m benchMid) keep() bool { return m.Port != 0 }

// out is the third stage's transformation.
func (m benchMid) out() benchOut {
	return benchOut{Name: m.Name, Target: m.Port + 1, Version: m.Version}
}

// benchOut is the last stage's output.
type benchOut struct {
	Name    string
	Target  int
	Version int
}

func (o benchOut) Key() string            { return o.Name }
func (o benchOut) ResourceName() string   { return o.Name }
func (o benchOut) Equal(p benchOut) bool  { return o == p }
func (o benchOut) Equals(p benchOut) bool { return o == p }

func benchObjects(n int) []benchObj {
	objs := make([]benchObj, n)
	for i := range objs {
		objs[i] = benchObj{Name: "obj-" + strconv.Itoa(i), Namespace: "ns-" + strconv.Itoa(i%10), Port: 8000 + i%100, Weight: 1}
	}
	return objs
}

// lib is one library's way of running the workloads. Each function builds what it needs
// and returns a func that tears it down.
type lib struct {
	name string
	// update builds a source holding objs and the 3 stages, with a handler on the last stage
	// that sends the version of every updated item to arrived. It returns once the handler
	// has seen the initial state.
	update func(b *testing.B, objs []benchObj, arrived chan<- int) (upsert func(benchObj), stop func())
	// load builds an empty, unsynced source and the 3 stages, loads objs into the source,
	// marks it synced, and returns once the last stage has synced.
	load func(objs []benchObj) (endLen func() int, stop func())
	// stages returns the steps that build the source (holding objs) and then each stage in
	// turn; a step returns once its collection has synced with n items.
	stages func(b *testing.B, objs []benchObj) (steps []func(), stop func())
}

var libs = []lib{caddymeshLib, krtLib}

// caddymesh: a Static, then Map → Filter → Map.

type chain struct {
	m1, f *collection.Derived[benchMid]
	m2    *collection.Derived[benchOut]
}

func mapMid(o benchObj) (benchMid, bool) { return o.mid() }
func filterMid(m benchMid) bool          { return m.keep() }
func mapOut(m benchMid) (benchOut, bool) { return m.out(), true }

func newChain(s collection.Collection[benchObj]) *chain {
	c := &chain{m1: collection.Map(s, mapMid)}
	c.f = collection.Filter(c.m1, filterMid)
	c.m2 = collection.Map(c.f, mapOut)
	return c
}

func (c *chain) stop() {
	if c.m2 != nil {
		c.m2.Stop()
	}
	if c.f != nil {
		c.f.Stop()
	}
	if c.m1 != nil {
		c.m1.Stop()
	}
}

func waitSyncedLen(b *testing.B, c collection.Info, n int) {
	b.Helper()
	<-c.Synced()
	if c.Len() != n {
		b.Fatalf("%s synced with %d items, want %d", c.Name(), c.Len(), n)
	}
}

var caddymeshLib = lib{
	name: "caddymesh",
	update: func(b *testing.B, objs []benchObj, arrived chan<- int) (func(benchObj), func()) {
		s := collection.NewStatic[benchObj]()
		s.Reset(objs)
		c := newChain(s)
		cancel := c.m2.Watch(func(e collection.Event[benchOut]) {
			if e.Type == collection.Updated {
				arrived <- e.New.Version
			}
		})
		waitSyncedLen(b, c.m2, len(objs))
		return func(o benchObj) { s.Upsert(o) }, func() { cancel(); c.stop() }
	},
	load: func(objs []benchObj) (func() int, func()) {
		s := collection.NewStatic[benchObj]()
		c := newChain(s)
		s.Reset(objs) // marks s synced
		<-c.m2.Synced()
		return c.m2.Len, c.stop
	},
	stages: func(b *testing.B, objs []benchObj) ([]func(), func()) {
		n := len(objs)
		s := collection.NewStatic[benchObj]()
		c := &chain{}
		steps := []func(){
			func() { s.Reset(objs); waitSyncedLen(b, s, n) },
			func() { c.m1 = collection.Map(s, mapMid); waitSyncedLen(b, c.m1, n) },
			func() { c.f = collection.Filter(c.m1, filterMid); waitSyncedLen(b, c.f, n) },
			func() { c.m2 = collection.Map(c.f, mapOut); waitSyncedLen(b, c.m2, n) },
		}
		return steps, func() {
			c.stop()
			runtime.KeepAlive(s)
		}
	},
}

// krt: a StaticCollection, then three NewCollection stages; krt has no separate filter, so
// the middle stage returns nil to drop an item. Every collection gets the stop channel and
// no debug handler, as krt.NewOptionsBuilder gives them.

type krtChain struct {
	m1, f krt.Collection[benchMid]
	m2    krt.Collection[benchOut]
}

func krtMapMid(_ krt.HandlerContext, o benchObj) *benchMid {
	if m, ok := o.mid(); ok {
		return &m
	}
	return nil
}

func krtFilterMid(_ krt.HandlerContext, m benchMid) *benchMid {
	if m.keep() {
		return &m
	}
	return nil
}

func krtMapOut(_ krt.HandlerContext, m benchMid) *benchOut {
	o := m.out()
	return &o
}

func newKrtChain(s krt.Collection[benchObj], opts krt.OptionsBuilder) *krtChain {
	c := &krtChain{m1: krt.NewCollection(s, krtMapMid, opts.WithName("map")...)}
	c.f = krt.NewCollection(c.m1, krtFilterMid, opts.WithName("filter")...)
	c.m2 = krt.NewCollection(c.f, krtMapOut, opts.WithName("map2")...)
	return c
}

// krtSyncer is a source's "first full view is in" signal, as Istio's in-memory config store
// gives its static collections.
type krtSyncer chan struct{}

func (s krtSyncer) HasSynced() bool {
	select {
	case <-s:
		return true
	default:
		return false
	}
}

func (s krtSyncer) WaitUntilSynced(stop <-chan struct{}) bool {
	select {
	case <-s:
		return true
	case <-stop:
		return false
	}
}

func krtWaitSyncedLen[T any](b *testing.B, c krt.Collection[T], stop <-chan struct{}, n int) {
	b.Helper()
	if !c.WaitUntilSynced(stop) {
		b.Fatal("stopped before sync")
	}
	if l := len(c.List()); l != n {
		b.Fatalf("synced with %d items, want %d", l, n)
	}
}

var krtLib = lib{
	name: "krt",
	update: func(b *testing.B, objs []benchObj, arrived chan<- int) (func(benchObj), func()) {
		stop := make(chan struct{})
		opts := krt.NewOptionsBuilder(stop, "bench", nil)
		s := krt.NewStaticCollection(nil, objs, opts.WithName("static")...)
		c := newKrtChain(s, opts)
		reg := c.m2.Register(func(e krt.Event[benchOut]) {
			if e.Event == controllers.EventUpdate {
				arrived <- e.New.Version
			}
		})
		if !reg.WaitUntilSynced(stop) {
			b.Fatal("stopped before sync")
		}
		krtWaitSyncedLen(b, c.m2, stop, len(objs))
		// ConditionalUpdateObject drops a write equal to the current value, as Upsert does.
		return s.ConditionalUpdateObject, func() { reg.UnregisterHandler(); close(stop) }
	},
	load: func(objs []benchObj) (func() int, func()) {
		stop := make(chan struct{})
		opts := krt.NewOptionsBuilder(stop, "bench", nil)
		synced := make(krtSyncer)
		s := krt.NewStaticCollection[benchObj](synced, nil, opts.WithName("static")...)
		c := newKrtChain(s, opts)
		s.Reset(objs)
		close(synced)
		c.m2.WaitUntilSynced(stop)
		return func() int { return len(c.m2.List()) }, func() { close(stop) }
	},
	stages: func(b *testing.B, objs []benchObj) ([]func(), func()) {
		n := len(objs)
		stop := make(chan struct{})
		opts := krt.NewOptionsBuilder(stop, "bench", nil)
		var s krt.StaticCollection[benchObj]
		c := &krtChain{}
		steps := []func(){
			func() {
				s = krt.NewStaticCollection(nil, objs, opts.WithName("static")...)
				krtWaitSyncedLen[benchObj](b, s, stop, n)
			},
			func() {
				c.m1 = krt.NewCollection(s, krtMapMid, opts.WithName("map")...)
				krtWaitSyncedLen(b, c.m1, stop, n)
			},
			func() {
				c.f = krt.NewCollection(c.m1, krtFilterMid, opts.WithName("filter")...)
				krtWaitSyncedLen(b, c.f, stop, n)
			},
			func() {
				c.m2 = krt.NewCollection(c.f, krtMapOut, opts.WithName("map2")...)
				krtWaitSyncedLen(b, c.m2, stop, n)
			},
		}
		return steps, func() {
			runtime.KeepAlive(s)
			runtime.KeepAlive(c)
			close(stop)
		}
	},
}

// BenchmarkUpdateThrough3Stages measures one changed item travelling from the source
// through Map → Filter → Map to a handler on the last stage.
func BenchmarkUpdateThrough3Stages(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		for _, l := range libs {
			b.Run(fmt.Sprintf("objects=%d/lib=%s", n, l.name), func(b *testing.B) {
				objs := benchObjects(n)
				arrived := make(chan int)
				upsert, stop := l.update(b, objs, arrived)
				defer stop()
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					o := &objs[i%n]
					o.Version++
					upsert(*o)
					if v := <-arrived; v != o.Version {
						b.Fatalf("got version %d, want %d", v, o.Version)
					}
				}
			})
		}
	}
}

// BenchmarkInitialLoad measures loading 100,000 items into an unsynced source with the
// three stages attached, until the last stage has synced with all of them.
func BenchmarkInitialLoad(b *testing.B) {
	const n = 100000
	for _, l := range libs {
		b.Run(fmt.Sprintf("objects=%d/lib=%s", n, l.name), func(b *testing.B) {
			objs := benchObjects(n)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				endLen, stop := l.load(objs)
				b.StopTimer()
				if got := endLen(); got != n {
					b.Fatalf("last stage synced with %d items, want %d", got, n)
				}
				stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// heapAlloc returns the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemoryPerObject reports the heap each collection retains per object it holds,
// with 100,000 objects: each sub-benchmark builds the chain up to its stage and measures the
// heap that stage adds. The objects themselves are kept alive throughout, so the figures are
// the collections' own cost, including the copy of each value a collection keeps.
func BenchmarkMemoryPerObject(b *testing.B) {
	const n = 100000
	for depth, stage := range []string{"static", "map", "filter", "map2"} {
		for _, l := range libs {
			b.Run(fmt.Sprintf("stage=%s/lib=%s", stage, l.name), func(b *testing.B) {
				var total float64
				for range b.N {
					objs := benchObjects(n)
					steps, stop := l.stages(b, objs)
					for _, step := range steps[:depth] {
						step()
					}
					before := heapAlloc()
					steps[depth]()
					after := heapAlloc()
					total += (float64(after) - float64(before)) / n
					runtime.KeepAlive(objs)
					stop()
				}
				b.ReportMetric(total/float64(b.N), "B/obj")
			})
		}
	}
}
