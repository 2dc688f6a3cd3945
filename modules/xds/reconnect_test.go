package xds

import (
	"errors"
	"maps"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
)

// TestReconnectAfterServerRestart: when the server goes away and comes back on the same
// address, the client reports the disconnection, keeps serving the last good state,
// reconnects, restores every subscription with fresh nonces (state of the world: the last
// accepted versions; delta: the versions it holds), and reports the reconnection.
func TestReconnectAfterServerRestart(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			srv, sc := newSnapshotCP(t, snapshot(t, "v1", map[TypeURL][]types.Resource{
				ListenerType: {httpListener(t, "l1", "r1")},
				RouteType:    {routeConfig("r1", "c1")},
				ClusterType:  {edsCluster("c1"), edsCluster("c2"), edsCluster("c3")},
				EndpointType: {cla("c1", 80)},
			}))
			c := connect(t, testConfig(srv.addr, p.delta))
			for url, names := range map[TypeURL][]string{ListenerType: nil, ClusterType: nil, RouteType: {"r1"}, EndpointType: {"c1"}} {
				if err := c.Subscribe(url, names...); err != nil {
					t.Fatal(err)
				}
			}
			for _, url := range []TypeURL{ListenerType, ClusterType, RouteType, EndpointType} {
				eventually(t, 5*time.Second, "the first state of "+url.MessageName(), func() bool { return len(c.State(url)) > 0 })
			}
			eventually(t, 5*time.Second, "four ACKs", func() bool {
				n := 0
				for _, url := range []TypeURL{ListenerType, ClusterType, RouteType, EndpointType} {
					for _, r := range srv.requestsOf(url) {
						if r.nonce != "" {
							n++
							break
						}
					}
				}
				return n == 4
			})
			before := map[TypeURL]int{}
			for _, url := range []TypeURL{ListenerType, ClusterType, RouteType, EndpointType} {
				before[url] = len(srv.requestsOf(url))
			}
			firstServer := srv.requestsOf(ClusterType)[0].server

			// While the server is down, c2 changes and c3 goes.
			srv.stop()
			dis, _ := waitEvent(t, c, 5*time.Second, "disconnected", func(ev Event) bool { return ev.Type == EventDisconnected })
			if !errors.Is(dis.Err, ErrConnection) {
				t.Errorf("disconnected with %v, want KindConnection", dis.Err)
			}
			if got := len(c.State(ClusterType)); got != 3 {
				t.Errorf("State during the outage has %d clusters, want the last good 3", got)
			}
			c2 := edsCluster("c2")
			c2.ConnectTimeout.Seconds = 9
			setSnapshot(t, sc, snapshot(t, "v2", map[TypeURL][]types.Resource{
				ListenerType: {httpListener(t, "l1", "r1")},
				RouteType:    {routeConfig("r1", "c1")},
				ClusterType:  {edsCluster("c1"), c2},
				EndpointType: {cla("c1", 80)},
			}))
			srv.restart()
			_, seen := waitEvent(t, c, 5*time.Second, "reconnected", func(ev Event) bool { return ev.Type == EventReconnected })
			for _, ev := range seen {
				if ev.Type != EventDisconnected {
					t.Errorf("before reconnecting: %s", describe([]Event{ev}))
				}
			}

			cds, _ := waitEvent(t, c, 5*time.Second, "clusters after the restart", func(ev Event) bool {
				return ev.TypeURL == ClusterType && (ev.Type == EventResponse || ev.Type == EventDeltaResponse)
			})
			if p.delta {
				// Only what changed comes back, because the client said what it holds.
				if !slices.Equal(slices.Sorted(maps.Keys(cds.Resources)), []string{"c2"}) || !slices.Equal(cds.Removed, []string{"c3"}) {
					t.Errorf("delta after the restart %s, want +c2 -c3", describe([]Event{cds}))
				}
			} else if len(cds.Resources) != 2 || !slices.Equal(cds.Removed, []string{"c3"}) {
				t.Errorf("state of the world after the restart %s, want +c1,c2 -c3", describe([]Event{cds}))
			}

			for _, url := range []TypeURL{ListenerType, ClusterType, RouteType, EndpointType} {
				var first *req
				eventually(t, 5*time.Second, "the restored subscription of "+url.MessageName(), func() bool {
					rs := srv.requestsOf(url)
					for i := before[url]; i < len(rs); i++ {
						if rs[i].server != firstServer {
							first = &rs[i]
							return true
						}
					}
					return false
				})
				if first.nonce != "" {
					t.Errorf("%s: first request on the new stream has nonce %q", url.MessageName(), first.nonce)
				}
				checkRestored(t, p.delta, url, first)
			}
			if p.delta {
				// The node goes in the first request of each stream, and only there.
				srv.mu.Lock()
				var nodes []bool
				for _, r := range srv.requests {
					if r.server != firstServer {
						nodes = append(nodes, r.hasNode)
					}
				}
				srv.mu.Unlock()
				if len(nodes) == 0 || !nodes[0] || slices.Contains(nodes[1:], true) {
					t.Errorf("node in the requests of the new stream: %v, want only in the first", nodes)
				}
			}
		})
	}
}

// checkRestored checks the first request of a type on a new stream.
func checkRestored(t *testing.T, delta bool, url TypeURL, r *req) {
	t.Helper()
	wantNames := map[TypeURL][]string{ListenerType: nil, ClusterType: nil, RouteType: {"r1"}, EndpointType: {"c1"}}[url]
	if !delta {
		if !slices.Equal(r.names, wantNames) || r.version != "v1" {
			t.Errorf("%s: restored with %+v, want names %q and the last accepted version v1", url.MessageName(), *r, wantNames)
		}
		return
	}
	if wantNames == nil {
		wantNames = []string{"*"}
	}
	if !slices.Equal(r.subscribe, wantNames) {
		t.Errorf("%s: restored subscribing %q, want %q", url.MessageName(), r.subscribe, wantNames)
	}
	wantHeld := map[TypeURL][]string{ListenerType: {"l1"}, ClusterType: {"c1", "c2", "c3"}, RouteType: {"r1"}, EndpointType: {"c1"}}[url]
	if got := slices.Sorted(maps.Keys(r.initial)); !slices.Equal(got, wantHeld) {
		t.Errorf("%s: initial_resource_versions for %q, want %q", url.MessageName(), got, wantHeld)
	}
	for name, v := range r.initial {
		if v == "" {
			t.Errorf("%s: empty version for %q", url.MessageName(), name)
		}
	}
}

// TestReconnectBackoff: with the server gone, attempts are spaced by the configured
// exponential backoff, and every failed attempt, the very first included, is reported.
func TestReconnectBackoff(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	cfg := testConfig(addr, true)
	cfg.Backoff = Backoff{Initial: 40 * time.Millisecond, Max: 400 * time.Millisecond, Multiplier: 2, Jitter: 0.1}
	c := connect(t, cfg)
	var at []time.Time
	for len(at) < 6 {
		ev, _ := waitEvent(t, c, 5*time.Second, "a failed attempt", func(ev Event) bool { return ev.Type == EventDisconnected })
		if !errors.Is(ev.Err, ErrConnection) {
			t.Fatalf("attempt failed with %v, want KindConnection", ev.Err)
		}
		at = append(at, time.Now())
	}
	// Gap i follows a delay of min(40ms·2^i, 400ms) ± 10%.
	for i := 1; i < len(at); i++ {
		want := min(40*time.Millisecond<<(i-1), 400*time.Millisecond)
		if gap := at[i].Sub(at[i-1]); gap < want*9/10-5*time.Millisecond {
			t.Errorf("attempt %d came %v after the previous one, want at least %v", i+1, gap, want*9/10)
		}
	}
	if first, last := at[1].Sub(at[0]), at[5].Sub(at[4]); last < 3*first {
		t.Errorf("backoff does not grow: first gap %v, fifth %v", first, last)
	}
}

// TestDoesNotExist: a subscribed name the server never sends is reported after
// ResourceDoesNotExistTimeout; names it sends are not.
func TestDoesNotExist(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			srv, _ := newSnapshotCP(t, snapshot(t, "v1", map[TypeURL][]types.Resource{
				ClusterType: {edsCluster("present")},
			}))
			cfg := testConfig(srv.addr, p.delta)
			cfg.ResourceDoesNotExistTimeout = 100 * time.Millisecond
			c := connect(t, cfg)
			if err := c.Subscribe(ClusterType, "present"); err != nil {
				t.Fatal(err)
			}
			waitEvent(t, c, 5*time.Second, "present", isResponse(ClusterType, "present"))
			start := time.Now()
			if err := c.Subscribe(ClusterType, "missing"); err != nil {
				t.Fatal(err)
			}
			ev, seen := waitEvent(t, c, 5*time.Second, "does-not-exist", func(ev Event) bool { return ev.Type == EventDoesNotExist })
			if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
				t.Errorf("reported after %v, before the timeout", elapsed)
			}
			if ev.TypeURL != ClusterType || !slices.Equal(ev.Names, []string{"missing"}) || ev.Err != nil {
				t.Errorf("event %+v", ev)
			}
			for _, e := range seen {
				if e.Type == EventDoesNotExist {
					t.Errorf("unexpected %s", describe([]Event{e}))
				}
			}
			// Reported once, not again on every later response.
			if err := c.Subscribe(ClusterType, "other"); err != nil {
				t.Fatal(err)
			}
			ev, _ = waitEvent(t, c, 5*time.Second, "does-not-exist", func(ev Event) bool { return ev.Type == EventDoesNotExist })
			if !slices.Equal(ev.Names, []string{"other"}) {
				t.Errorf("second report names %q, want [other]", ev.Names)
			}
		})
	}
}

// TestOverLimit: a response that would make the client hold more than ResourceLimit
// resources is NACKed whole, with KindOverLimit in the event, and the state is unchanged.
func TestOverLimit(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			srv, sc := newSnapshotCP(t, snapshot(t, "v1", map[TypeURL][]types.Resource{
				ClusterType: {edsCluster("a"), edsCluster("b")},
			}))
			cfg := testConfig(srv.addr, p.delta)
			cfg.ResourceLimit = 3
			c := connect(t, cfg)
			if err := c.Subscribe(ClusterType); err != nil {
				t.Fatal(err)
			}
			waitEvent(t, c, 5*time.Second, "v1", isResponse(ClusterType, "a", "b"))
			setSnapshot(t, sc, snapshot(t, "v2", map[TypeURL][]types.Resource{
				ClusterType: {edsCluster("a"), edsCluster("b"), edsCluster("c"), edsCluster("d")},
			}))
			ev, _ := waitEvent(t, c, 5*time.Second, "the over-limit response", func(ev Event) bool { return ev.Err != nil })
			if !errors.Is(ev.Err, ErrOverLimit) || len(ev.Resources) != 0 || len(ev.Removed) != 0 {
				t.Errorf("event %s, want KindOverLimit and nothing applied", describe([]Event{ev}))
			}
			for _, n := range []string{"c", "d"} {
				if !errors.Is(ev.Rejected[n], ErrOverLimit) {
					t.Errorf("Rejected[%q] = %v, want KindOverLimit", n, ev.Rejected[n])
				}
			}
			if got := slices.Sorted(maps.Keys(c.State(ClusterType))); !slices.Equal(got, []string{"a", "b"}) {
				t.Errorf("State %q, want the unchanged [a b]", got)
			}
			var nack req
			eventually(t, 5*time.Second, "the NACK", func() bool {
				var ok bool
				nack, ok = lastRequest(srv, ClusterType, ev.Nonce)
				return ok
			})
			if nack.detail == nil || !containsAll(nack.detail.GetMessage(), "4", "limit of 3") {
				t.Errorf("NACK detail %v", nack.detail)
			}
			if !p.delta && nack.version != "v1" {
				t.Errorf("NACK version %q, want v1", nack.version)
			}
		})
	}
}
