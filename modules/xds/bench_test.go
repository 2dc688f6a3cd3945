package xds

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
)

// BenchmarkInitialLoad measures a client's initial load of 10,000 EDS clusters and their
// 10,000 ClusterLoadAssignments over delta ADS from go-control-plane's snapshot cache: one
// iteration connects, subscribes, and waits until every resource is accepted (decoded,
// validated, stored, delivered as events), then closes. The server runs in the same
// process, so its work and allocations are included.
//
//   - subscribe=wildcard: CDS and EDS are both wildcard subscriptions.
//   - subscribe=auto: CDS is wildcard and the 10,000 EDS names follow from the clusters
//     (WithAutoSubscribe, as mesh.sources.xds runs), which adds one subscription request
//     of 10,000 names and as many does-not-exist timers.
func BenchmarkInitialLoad(b *testing.B) {
	const n = 10_000
	clusters := make([]types.Resource, n)
	endpoints := make([]types.Resource, n)
	for i := range n {
		name := fmt.Sprintf("cluster-%05d", i)
		clusters[i] = edsCluster(name)
		endpoints[i] = cla(name, uint32(1024+i%50000))
	}
	srv, _ := newSnapshotCP(b, snapshot(b, "v1", map[TypeURL][]types.Resource{
		ClusterType:  clusters,
		EndpointType: endpoints,
	}))
	for _, auto := range []bool{false, true} {
		b.Run(map[bool]string{false: "subscribe=wildcard", true: "subscribe=auto"}[auto], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, err := Connect(context.Background(), testConfig(srv.addr, true), WithAutoSubscribe(auto))
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Subscribe(ClusterType); err != nil {
					b.Fatal(err)
				}
				if !auto {
					if err := c.Subscribe(EndpointType); err != nil {
						b.Fatal(err)
					}
				}
				got := map[TypeURL]int{}
				for got[ClusterType] < n || got[EndpointType] < n {
					ev, err := c.Next(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					if len(ev.Rejected) > 0 || ev.Type == EventDisconnected {
						b.Fatalf("unexpected event %s", describe([]Event{ev}))
					}
					got[ev.TypeURL] += len(ev.Resources)
				}
				_ = c.Close()
			}
			b.ReportMetric(2*n, "resources/op")
		})
	}
}

// BenchmarkDeltaUpdate measures one update among N resources: a go-control-plane
// LinearCache holds N ClusterLoadAssignments the client has loaded (delta, wildcard);
// each iteration changes one of them in the cache and waits until Next delivers it.
//
// go-control-plane's LinearCache costs O(N) per update and per ACK: it compares the
// version of every resource the subscription knows and clones its map of them
// (computeResourceChange and computeResponse; about 4 ms per ACK at N=10,000 on a 2-vCPU
// VM). The ACK's share is paid after the update was delivered, so the timer is stopped
// while the server digests it and for a further settle period: every iteration starts
// from the same idle process, as one update among many seconds apart would. Without the
// settle period the small case would run with every thread still spinning from the last
// iteration, while the large one always waits out the server's 4 ms, and their ratio
// would measure the scheduler's wake-up latency rather than either side's work.
//
// Two figures are reported:
//
//   - ns/op: from UpdateResource to Next returning the update: the server's notify path
//     (O(N) in go-control-plane), the wire and the client;
//   - client-ns/op: from the server handing the response to gRPC to Next returning it:
//     the client's share (receive, decode, validate, apply, queue, deliver), which must
//     not grow with N.
func BenchmarkDeltaUpdate(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			srv, lcs := newLinearCP(b, EndpointType)
			lc := lcs[EndpointType]
			initial := make(map[string]types.Resource, n)
			for i := range n {
				name := fmt.Sprintf("cla-%05d", i)
				initial[name] = cla(name, 1)
			}
			lc.SetResources(initial)
			var sentAt atomic.Int64
			srv.setHooks(func(string, string) { sentAt.Store(time.Now().UnixNano()) }, nil)
			c := connect(b, testConfig(srv.addr, true))
			if err := c.Subscribe(EndpointType); err != nil {
				b.Fatal(err)
			}
			for got := 0; got < n; {
				ev, err := c.Next(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				got += len(ev.Resources)
			}
			var clientNs int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				waitServerIdle(b, lc)
				time.Sleep(settle)
				b.StartTimer()
				name := fmt.Sprintf("cla-%05d", (i+1)%n)
				updateAndWait(b, c, lc, name, uint32(2+i%60000))
				clientNs += time.Now().UnixNano() - sentAt.Load()
			}
			b.ReportMetric(float64(clientNs)/float64(b.N), "client-ns/op")
		})
	}
}

// settle is the idle time before each timed update of BenchmarkDeltaUpdate.
const settle = 10 * time.Millisecond

// waitServerIdle waits until go-control-plane has processed the client's last ACK: the
// delta watch it re-creates for it is registered again.
func waitServerIdle(b *testing.B, lc *cachev3.LinearCache) {
	deadline := time.Now().Add(10 * time.Second)
	for lc.NumWildcardWatches() != 1 {
		if time.Now().After(deadline) {
			b.Fatal("the server did not take the ACK")
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// updateAndWait changes one ClusterLoadAssignment and waits for its event.
func updateAndWait(b *testing.B, c *AdsClient, lc *cachev3.LinearCache, name string, p uint32) {
	if err := lc.UpdateResource(name, cla(name, p)); err != nil {
		b.Fatal(err)
	}
	for {
		ev, err := c.Next(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if r, ok := ev.Resources[name]; ok && port(r) == p {
			return
		}
	}
}
