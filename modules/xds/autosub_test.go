package xds

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
)

// TestAutoSubscribe: with WithAutoSubscribe, the route configurations named by accepted
// listeners and the endpoints of accepted EDS clusters are subscribed without being
// asked for, and unsubscribed (and dropped from the state) when nothing refers to them.
func TestAutoSubscribe(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			srv, sc := newSnapshotCP(t, snapshot(t, "v1", map[TypeURL][]types.Resource{
				ListenerType: {httpListener(t, "l1", "r1")},
				RouteType:    {routeConfig("r1", "c1")},
				ClusterType:  {edsCluster("c1")},
				EndpointType: {cla("c1", 80)},
			}))
			c := connect(t, testConfig(srv.addr, p.delta), WithAutoSubscribe(true))
			for _, url := range []TypeURL{ListenerType, ClusterType} {
				if err := c.Subscribe(url); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, 5*time.Second, "r1 and the endpoints of c1", func() bool {
				_, r1 := c.State(RouteType)["r1"]
				_, c1 := c.State(EndpointType)["c1"]
				return r1 && c1
			})

			// The listener switches to r2, c1 goes and c2 comes.
			setSnapshot(t, sc, snapshot(t, "v2", map[TypeURL][]types.Resource{
				ListenerType: {httpListener(t, "l1", "r2")},
				RouteType:    {routeConfig("r2", "c2")},
				ClusterType:  {edsCluster("c2")},
				EndpointType: {cla("c2", 80)},
			}))
			var removedRoutes, removedEndpoints bool
			eventually(t, 5*time.Second, "r2 and c2 in, r1 and c1 out", func() bool {
				for {
					ev, ok := c.events.pop()
					if !ok {
						break
					}
					removedRoutes = removedRoutes || (ev.TypeURL == RouteType && slices.Contains(ev.Removed, "r1"))
					removedEndpoints = removedEndpoints || (ev.TypeURL == EndpointType && slices.Contains(ev.Removed, "c1"))
				}
				return slices.Equal(slices.Sorted(maps.Keys(c.State(RouteType))), []string{"r2"}) &&
					slices.Equal(slices.Sorted(maps.Keys(c.State(EndpointType))), []string{"c2"})
			})
			if !removedRoutes || !removedEndpoints {
				t.Errorf("removal events: routes %v, endpoints %v", removedRoutes, removedEndpoints)
			}
			rs := srv.requestsOf(RouteType)
			last := rs[len(rs)-1]
			if p.delta {
				var sub, unsub []string
				for _, r := range rs {
					sub = append(sub, r.subscribe...)
					unsub = append(unsub, r.unsubscribe...)
				}
				if !slices.Equal(sub, []string{"r1", "r2"}) || !slices.Equal(unsub, []string{"r1"}) {
					t.Errorf("RDS subscribed %q and unsubscribed %q", sub, unsub)
				}
			} else if !slices.Equal(last.names, []string{"r2"}) {
				t.Errorf("last RDS request names %q, want [r2]", last.names)
			}
		})
	}
}

// TestAutoSubscribeOff: by default nothing is subscribed that was not asked for.
func TestAutoSubscribeOff(t *testing.T) {
	srv, _ := newSnapshotCP(t, snapshot(t, "v1", map[TypeURL][]types.Resource{
		ListenerType: {httpListener(t, "l1", "r1")},
		RouteType:    {routeConfig("r1", "c1")},
	}))
	c := connect(t, testConfig(srv.addr, true))
	if err := c.Subscribe(ListenerType); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, c, 5*time.Second, "l1", isResponse(ListenerType, "l1"))
	time.Sleep(100 * time.Millisecond)
	if rs := srv.requestsOf(RouteType); len(rs) != 0 {
		t.Errorf("RDS requested without auto-subscription: %+v", rs)
	}
}

// TestAutoSubscribeKeepsExplicit: a name the caller subscribed stays when the last
// listener referring to it goes, and a name a listener refers to stays when the caller
// unsubscribes it.
func TestAutoSubscribeKeepsExplicit(t *testing.T) {
	srv, sc := newSnapshotCP(t, snapshot(t, "v1", map[TypeURL][]types.Resource{
		ListenerType: {httpListener(t, "l1", "r1")},
		RouteType:    {routeConfig("r1", "c1"), routeConfig("r2", "c1")},
	}))
	c := connect(t, testConfig(srv.addr, true), WithAutoSubscribe(true))
	if err := c.Subscribe(ListenerType); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(RouteType, "r1", "r2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "r1 and r2", func() bool { return len(c.State(RouteType)) == 2 })
	if err := c.Unsubscribe(RouteType, "r1", "r2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "r2 dropped", func() bool { return len(c.State(RouteType)) == 1 })
	if _, ok := c.State(RouteType)["r1"]; !ok {
		t.Fatal("r1, still referred to by l1, was dropped")
	}
	setSnapshot(t, sc, snapshot(t, "v2", map[TypeURL][]types.Resource{
		RouteType: {routeConfig("r1", "c1"), routeConfig("r2", "c1")},
	}))
	eventually(t, 5*time.Second, "r1 dropped with l1", func() bool { return len(c.State(RouteType)) == 0 })
}
