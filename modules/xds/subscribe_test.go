package xds

import (
	"slices"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
)

// TestSotwSubscriptionChange: in state of the world every request restates the whole
// subscription, so adding a name sends all names, with the last accepted version and the
// nonce of the last response.
func TestSotwSubscriptionChange(t *testing.T) {
	srv, lcs := newLinearCP(t, EndpointType)
	for _, n := range []string{"a", "b", "c"} {
		if err := lcs[EndpointType].UpdateResource(n, cla(n, 80)); err != nil {
			t.Fatal(err)
		}
	}
	c := connect(t, testConfig(srv.addr, false))
	if err := c.Subscribe(EndpointType, "a"); err != nil {
		t.Fatal(err)
	}
	ev, _ := waitEvent(t, c, 5*time.Second, "a", isResponse(EndpointType, "a"))
	eventually(t, 5*time.Second, "the ACK", func() bool { _, ok := lastRequest(srv, EndpointType, ev.Nonce); return ok })

	if err := c.Subscribe(EndpointType, "c", "b"); err != nil {
		t.Fatal(err)
	}
	ev2, _ := waitEvent(t, c, 5*time.Second, "b and c", isResponse(EndpointType, "b", "c"))
	rs := srv.requestsOf(EndpointType)
	var change *req
	for i := range rs {
		if len(rs[i].names) == 3 {
			change = &rs[i]
			break
		}
	}
	if change == nil {
		t.Fatalf("no request with the three names: %+v", rs)
	}
	if !slices.Equal(change.names, []string{"a", "b", "c"}) || change.version != ev.Version || change.nonce != ev.Nonce {
		t.Errorf("subscription change %+v, want names [a b c], version %q, nonce %q", *change, ev.Version, ev.Nonce)
	}
	if len(ev2.Resources) != 2 {
		t.Errorf("EDS response %s: want the two new names", describe([]Event{ev2}))
	}

	// Unsubscribing drops the resource from the state and reports it removed.
	if err := c.Unsubscribe(EndpointType, "b"); err != nil {
		t.Fatal(err)
	}
	rm, _ := waitEvent(t, c, 5*time.Second, "b removed", func(ev Event) bool { return slices.Contains(ev.Removed, "b") })
	if rm.Type != EventResponse || rm.Nonce != "" {
		t.Errorf("removal event %+v", rm)
	}
	if _, ok := c.State(EndpointType)["b"]; ok {
		t.Error("b still in State after Unsubscribe")
	}
	eventually(t, 5*time.Second, "the request without b", func() bool {
		rs := srv.requestsOf(EndpointType)
		return slices.Equal(rs[len(rs)-1].names, []string{"a", "c"})
	})
}

// TestStaleNonce: a subscription change that crosses a response on the wire carries the
// nonce before that response, so go-control-plane ignores it (as the protocol says). The
// client must then send the newest nonce, with the new names, when it ACKs the response;
// otherwise the change is lost.
func TestStaleNonce(t *testing.T) {
	srv, lcs := newLinearCP(t, EndpointType)
	for _, n := range []string{"a", "b"} {
		if err := lcs[EndpointType].UpdateResource(n, cla(n, 80)); err != nil {
			t.Fatal(err)
		}
	}
	c := connect(t, testConfig(srv.addr, false))
	if err := c.Subscribe(EndpointType, "a"); err != nil {
		t.Fatal(err)
	}
	first, _ := waitEvent(t, c, 5*time.Second, "a", isResponse(EndpointType, "a"))
	eventually(t, 5*time.Second, "the ACK", func() bool { _, ok := lastRequest(srv, EndpointType, first.Nonce); return ok })

	// Hold the v2 response in the server until the client's subscription change, sent
	// without knowledge of v2, has arrived.
	changeSeen := make(chan struct{})
	var held bool
	srv.setHooks(func(typeURL, nonce string) {
		if typeURL != string(EndpointType) || nonce == first.Nonce || held {
			return
		}
		held = true
		if err := c.Subscribe(EndpointType, "b"); err != nil {
			t.Error(err)
			return
		}
		select {
		case <-changeSeen:
		case <-time.After(5 * time.Second):
			t.Error("the subscription change did not arrive while the response was held")
		}
	}, func(m any) {
		if r, ok := m.(*discoveryv3.DiscoveryRequest); ok && slices.Contains(r.GetResourceNames(), "b") {
			select {
			case <-changeSeen:
			default:
				close(changeSeen)
			}
		}
	})
	if err := lcs[EndpointType].UpdateResource("a", cla("a", 81)); err != nil {
		t.Fatal(err)
	}

	waitEvent(t, c, 5*time.Second, "b", isResponse(EndpointType, "b"))
	rs := srv.requestsOf(EndpointType)
	var stale, ack *req
	for i := range rs {
		if slices.Contains(rs[i].names, "b") && stale == nil {
			stale = &rs[i]
		} else if stale != nil && ack == nil {
			ack = &rs[i]
		}
	}
	if stale == nil || ack == nil {
		t.Fatalf("requests %+v", rs)
	}
	if stale.nonce != first.Nonce {
		t.Fatalf("the change was sent with nonce %q; the test needs it to cross the v2 response", stale.nonce)
	}
	var crossed *resp
	for _, r := range srv.responsesOf(EndpointType) {
		if r.nonce == ack.nonce {
			crossed = &r
		}
	}
	if crossed == nil || ack.nonce == first.Nonce || ack.version != crossed.version || !slices.Equal(ack.names, []string{"a", "b"}) {
		t.Errorf("request after the crossed response %+v: want the newest nonce and version (response %+v) and names [a b]", *ack, crossed)
	}
}

// TestDeltaSubscribeWhileResponsePending: delta subscription changes go out at once, even
// while the response to an earlier one is on its way and not yet ACKed.
func TestDeltaSubscribeWhileResponsePending(t *testing.T) {
	srv, lcs := newLinearCP(t, EndpointType)
	for _, n := range []string{"x", "y"} {
		if err := lcs[EndpointType].UpdateResource(n, cla(n, 80)); err != nil {
			t.Fatal(err)
		}
	}
	c := connect(t, testConfig(srv.addr, true))
	ySeen := make(chan struct{})
	var held bool
	srv.setHooks(func(typeURL, _ string) {
		if held {
			return
		}
		held = true
		if err := c.Subscribe(EndpointType, "y"); err != nil {
			t.Error(err)
			return
		}
		select {
		case <-ySeen:
		case <-time.After(5 * time.Second):
			t.Error("the client did not send the subscription to y while the response for x was pending")
		}
	}, func(m any) {
		if r, ok := m.(*discoveryv3.DeltaDiscoveryRequest); ok && slices.Contains(r.GetResourceNamesSubscribe(), "y") {
			close(ySeen)
		}
	})
	if err := c.Subscribe(EndpointType, "x"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, c, 5*time.Second, "x", isResponse(EndpointType, "x"))
	waitEvent(t, c, 5*time.Second, "y", isResponse(EndpointType, "y"))
	rs := srv.requestsOf(EndpointType)
	if len(rs) < 2 || !slices.Equal(rs[1].subscribe, []string{"y"}) || rs[1].nonce != "" {
		t.Errorf("second request %+v, want a subscription to y, without a nonce, before x's ACK", rs)
	}
}

// TestDeltaRemovedResources: removed_resources take resources out of the state.
func TestDeltaRemovedResources(t *testing.T) {
	srv, lcs := newLinearCP(t, ClusterType)
	lc := lcs[ClusterType]
	for _, n := range []string{"a", "b"} {
		if err := lc.UpdateResource(n, edsCluster(n)); err != nil {
			t.Fatal(err)
		}
	}
	c := connect(t, testConfig(srv.addr, true))
	if err := c.Subscribe(ClusterType); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, c, 5*time.Second, "a and b", isResponse(ClusterType, "a", "b"))
	if err := lc.DeleteResource("b"); err != nil {
		t.Fatal(err)
	}
	ev, _ := waitEvent(t, c, 5*time.Second, "b removed", func(ev Event) bool { return len(ev.Removed) > 0 })
	if ev.Type != EventDeltaResponse || !slices.Equal(ev.Removed, []string{"b"}) || len(ev.Resources) != 0 {
		t.Errorf("event %s", describe([]Event{ev}))
	}
	if _, ok := c.State(ClusterType)["b"]; ok {
		t.Error("b still in State")
	}
	if _, ok := c.State(ClusterType)["a"]; !ok {
		t.Error("a lost")
	}
}

// TestWildcard: a wildcard is the empty resource_names in state of the world, and "*" in
// resource_names_subscribe in delta; it gets every resource and has no does-not-exist
// timer.
func TestWildcard(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			srv, _ := newSnapshotCP(t, snapshot(t, "v1", map[TypeURL][]types.Resource{
				ClusterType: {edsCluster("a"), edsCluster("b")},
			}))
			cfg := testConfig(srv.addr, p.delta)
			cfg.ResourceDoesNotExistTimeout = 50 * time.Millisecond
			c := connect(t, cfg)
			for _, args := range [][]string{nil, {"*"}} {
				if err := c.Subscribe(ClusterType, args...); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Subscribe(ListenerType); err != nil { // nothing there
				t.Fatal(err)
			}
			_, seen := waitEvent(t, c, 5*time.Second, "a and b", isResponse(ClusterType, "a", "b"))
			first := srv.requestsOf(ClusterType)[0]
			if p.delta && !slices.Equal(first.subscribe, []string{"*"}) {
				t.Errorf("delta wildcard request subscribes %q, want [*]", first.subscribe)
			}
			if !p.delta && len(first.names) != 0 {
				t.Errorf("state-of-the-world wildcard request names %q, want none", first.names)
			}
			time.Sleep(200 * time.Millisecond)
			for _, ev := range seen {
				if ev.Type == EventDoesNotExist {
					t.Errorf("wildcard got %s", describe([]Event{ev}))
				}
			}
			for {
				ev, ok := c.events.pop()
				if !ok {
					break
				}
				if ev.Type == EventDoesNotExist {
					t.Errorf("wildcard got %s", describe([]Event{ev}))
				}
			}
		})
	}
}

// TestXDSTPNames: xdstp:// names are subscribed in canonical form (context params sorted)
// whatever the spelling given, and resources are keyed by it.
func TestXDSTPNames(t *testing.T) {
	canonical := "xdstp://auth.example/envoy.config.cluster.v3.Cluster/ns/web?a=1&b=2"
	spelled := "xdstp://auth.example/envoy.config.cluster.v3.Cluster/ns/web?b=2&a=1"
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			srv, lcs := newLinearCP(t, ClusterType)
			for _, n := range []string{canonical, "plain"} {
				if err := lcs[ClusterType].UpdateResource(n, edsCluster(n)); err != nil {
					t.Fatal(err)
				}
			}
			c := connect(t, testConfig(srv.addr, p.delta))
			if err := c.Subscribe(ClusterType, spelled); err != nil {
				t.Fatal(err)
			}
			ev, _ := waitEvent(t, c, 5*time.Second, "the xdstp cluster", isResponse(ClusterType, canonical))
			if len(ev.Resources) != 1 {
				t.Errorf("event %s: only the subscribed cluster is wanted", describe([]Event{ev}))
			}
			r := srv.requestsOf(ClusterType)[0]
			got := r.names
			if p.delta {
				got = r.subscribe
			}
			if !slices.Equal(got, []string{canonical}) {
				t.Errorf("subscribed %q, want the canonical %q", got, canonical)
			}
		})
	}
}

// TestSubscribeErrors: bad type URLs and names are refused with KindInvalidResource.
func TestSubscribeErrors(t *testing.T) {
	srv, _ := newSnapshotCP(t, nil)
	tests := []struct {
		name    string
		delta   bool
		typeURL TypeURL
		names   []string
	}{
		{"bad type URL", true, "envoy.config.cluster.v3.Cluster", nil},
		{"malformed xdstp name", true, ClusterType, []string{"xdstp://a/envoy.config.cluster.v3.Cluster"}},
		{"xdstp name of another type", true, ClusterType, []string{"xdstp://a/envoy.config.listener.v3.Listener/l"}},
		{"glob in state of the world", false, ClusterType, []string{"xdstp://a/envoy.config.cluster.v3.Cluster/ns/*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := connect(t, testConfig(srv.addr, tt.delta))
			err := c.Subscribe(tt.typeURL, tt.names...)
			if KindOf(err) != KindInvalidResource {
				t.Errorf("Subscribe: %v, want KindInvalidResource", err)
			}
		})
	}
}

// TestSubscriptionGlob: a delta glob subscription takes the members of its collection and
// nothing else.
func TestSubscriptionGlob(t *testing.T) {
	var s subscription
	glob := "xdstp://a/envoy.config.cluster.v3.Cluster/ns/*"
	s.addExplicit([]string{glob})
	for name, want := range map[string]bool{
		"xdstp://a/envoy.config.cluster.v3.Cluster/ns/web":      true,
		"xdstp://a/envoy.config.cluster.v3.Cluster/ns/deep/web": false,
		"xdstp://b/envoy.config.cluster.v3.Cluster/ns/web":      false,
		"xdstp://a/envoy.config.cluster.v3.Cluster/ns/web?x=1":  false,
		"plain": false,
	} {
		if got := s.wants(name); got != want {
			t.Errorf("wants(%q) = %v, want %v", name, got, want)
		}
	}
	s.removeExplicit([]string{glob})
	if s.globs != 0 || s.wants("xdstp://a/envoy.config.cluster.v3.Cluster/ns/web") {
		t.Error("glob still counted after removal")
	}
}
