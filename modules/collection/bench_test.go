package collection

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// benchObj is a small object as a source would hold it.
type benchObj struct {
	Name      string
	Namespace string
	Port      int
	Weight    int
	Version   int
}

func (o benchObj) Key() string { return o.Name }

// benchMid is the first stage's output.
type benchMid struct {
	Name    string
	Port    int
	Version int
}

func (o benchMid) Key() string { return o.Name }

// benchOut is the last stage's output.
type benchOut struct {
	Name    string
	Target  int
	Version int
}

func (o benchOut) Key() string { return o.Name }

func benchObjects(n int) []benchObj {
	objs := make([]benchObj, n)
	for i := range objs {
		objs[i] = benchObj{Name: "obj-" + strconv.Itoa(i), Namespace: "ns-" + strconv.Itoa(i%10), Port: 8000 + i%100, Weight: 1}
	}
	return objs
}

// chain is the 3-stage derivation the benchmarks use: Map → Filter → Map.
type chain struct {
	m1  *Derived[benchMid]
	f   *Derived[benchMid]
	m2  *Derived[benchOut]
	end Collection[benchOut]
}

func newChain(s Collection[benchObj], stages int) *chain {
	c := &chain{}
	c.m1 = Map(s, func(o benchObj) (benchMid, bool) {
		return benchMid{Name: o.Name, Port: o.Port, Version: o.Version}, o.Weight > 0
	})
	if stages < 2 {
		return c
	}
	c.f = Filter(c.m1, func(m benchMid) bool { return m.Port != 0 })
	if stages < 3 {
		return c
	}
	c.m2 = Map(c.f, func(m benchMid) (benchOut, bool) {
		return benchOut{Name: m.Name, Target: m.Port + 1, Version: m.Version}, true
	})
	c.end = c.m2
	return c
}

func (c *chain) stop() {
	if c.m2 != nil {
		c.m2.Stop()
	}
	if c.f != nil {
		c.f.Stop()
	}
	c.m1.Stop()
}

// BenchmarkUpdateThrough3Stages measures one upsert travelling through three derived stages
// to a watcher. Its cost must not depend on the number of objects.
func BenchmarkUpdateThrough3Stages(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			objs := benchObjects(n)
			s := NewStatic[benchObj]()
			s.Reset(objs)
			c := newChain(s, 3)
			defer c.stop()
			arrived := make(chan int)
			cancel := c.end.Watch(func(e Event[benchOut]) {
				if e.Type == Updated {
					arrived <- e.New.Version
				}
			})
			defer cancel()
			<-c.end.Synced()
			if c.end.Len() != n {
				b.Fatalf("end has %d items", c.end.Len())
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				o := &objs[i%n]
				o.Version++
				s.Upsert(*o)
				if v := <-arrived; v != o.Version {
					b.Fatalf("got version %d, want %d", v, o.Version)
				}
			}
		})
	}
}

// BenchmarkInitialLoad measures a Reset of many objects into a Static with the 3-stage chain
// attached, until the end has synced with all of them.
func BenchmarkInitialLoad(b *testing.B) {
	const n = 100000
	b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
		objs := benchObjects(n)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			s := NewStatic[benchObj]()
			c := newChain(s, 3)
			s.Reset(objs)
			<-c.end.Synced()
			if c.end.Len() != n {
				b.Fatalf("end synced with %d items", c.end.Len())
			}
			b.StopTimer()
			c.stop()
			b.StartTimer()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
	})
}

// heapAlloc returns the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemoryPerObject reports the heap a collection retains per object it holds, stage
// by stage: each sub-benchmark builds the chain up to its stage and measures that stage
// alone. The objects themselves belong to the source and are kept alive throughout, so the
// figures are the collections' own cost (for value types that includes the copy each
// collection's map holds).
func BenchmarkMemoryPerObject(b *testing.B) {
	const n = 100000
	// Each stage is measured as the heap it adds to everything before it.
	for depth, stage := range []string{"static", "map", "filter", "map2"} {
		b.Run(stage, func(b *testing.B) {
			var total float64
			for range b.N {
				objs := benchObjects(n)
				s := NewStatic[benchObj]()
				c := &chain{}
				// steps[i] attaches stage i and returns it.
				steps := []func() Info{
					func() Info { s.Reset(objs); return s },
					func() Info { c.m1 = newChain(s, 1).m1; return c.m1 },
					func() Info { c.f = Filter(c.m1, func(m benchMid) bool { return m.Port != 0 }); return c.f },
					func() Info {
						c.m2 = Map(c.f, func(m benchMid) (benchOut, bool) {
							return benchOut{Name: m.Name, Target: m.Port + 1, Version: m.Version}, true
						})
						return c.m2
					},
				}
				for _, step := range steps[:depth] {
					waitSyncedLen(b, step(), n)
				}
				before := heapAlloc()
				waitSyncedLen(b, steps[depth](), n)
				after := heapAlloc()
				total += (float64(after) - float64(before)) / n
				// Only watcher goroutines keep derived stages alive; keep the rest too.
				runtime.KeepAlive(objs)
				runtime.KeepAlive(s)
				runtime.KeepAlive(c)
				if c.m1 != nil {
					c.stop()
				}
			}
			b.ReportMetric(total/float64(b.N), "B/obj")
		})
	}
	// A Map that changes keys pays for tracking which input owns which output (and here for
	// its new key strings too), which a key-preserving Map does not.
	b.Run("map-rekeyed", func(b *testing.B) {
		var total float64
		for range b.N {
			objs := benchObjects(n)
			s := NewStatic[benchObj]()
			s.Reset(objs)
			before := heapAlloc()
			m := Map(s, func(o benchObj) (benchMid, bool) {
				return benchMid{Name: o.Namespace + "/" + o.Name, Port: o.Port, Version: o.Version}, true
			})
			waitSyncedLen(b, m, n)
			after := heapAlloc()
			total += (float64(after) - float64(before)) / n
			runtime.KeepAlive(objs)
			runtime.KeepAlive(s)
			m.Stop()
		}
		b.ReportMetric(total/float64(b.N), "B/obj")
	})
	b.Run("service-objects", func(b *testing.B) {
		var total float64
		for range b.N {
			before := heapAlloc()
			svcs := benchServices(n)
			after := heapAlloc()
			total += (float64(after) - float64(before)) / n
			runtime.KeepAlive(svcs)
		}
		b.ReportMetric(total/float64(b.N), "B/obj")
	})
	b.Run("service-static", func(b *testing.B) {
		var total float64
		for range b.N {
			svcs := benchServices(n)
			before := heapAlloc()
			s := NewStatic[*corev1.Service]()
			s.Reset(svcs)
			after := heapAlloc()
			total += (float64(after) - float64(before)) / n
			runtime.KeepAlive(s)
			runtime.KeepAlive(svcs)
		}
		b.ReportMetric(total/float64(b.N), "B/obj")
	})
}

func waitSyncedLen(b *testing.B, c Info, n int) {
	b.Helper()
	<-c.Synced()
	if c.Len() != n {
		b.Fatalf("%s synced with %d items, want %d", c.Name(), c.Len(), n)
	}
}

// benchServices builds realistic Services: name, namespace, two labels and a port.
func benchServices(n int) []*corev1.Service {
	svcs := make([]*corev1.Service, n)
	for i := range svcs {
		name := "svc-" + strconv.Itoa(i)
		svcs[i] = &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{
				Name:      name,
				Namespace: "team-" + strconv.Itoa(i%50),
				Labels:    map[string]string{"app": name, "tier": "backend"},
			},
			Spec: corev1.ServiceSpec{
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80}},
				Selector: map[string]string{"app": name},
			},
		}
	}
	return svcs
}
