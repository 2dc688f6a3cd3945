package xds

import (
	"errors"
	"hash/maphash"
	"strings"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// protocols runs a test for state of the world and for delta.
var protocols = []struct {
	name  string
	delta bool
}{{"sotw", false}, {"delta", true}}

// lastRequest returns the last request of typeURL with the given nonce, if any.
func lastRequest(srv *cp, typeURL TypeURL, nonce string) (req, bool) {
	rs := srv.requestsOf(typeURL)
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].nonce == nonce {
			return rs[i], true
		}
	}
	return req{}, false
}

// TestACK checks that each response is ACKed with its own nonce and (state of the world)
// version_info, and no error_detail, against both of go-control-plane's caches.
func TestACK(t *testing.T) {
	for _, p := range protocols {
		for _, cacheKind := range []string{"snapshot", "linear"} {
			t.Run(p.name+"/"+cacheKind, func(t *testing.T) {
				var srv *cp
				var update func(version string)
				switch cacheKind {
				case "snapshot":
					var sc cachev3.SnapshotCache
					srv, sc = newSnapshotCP(t, snapshot(t, "v1", map[TypeURL][]types.Resource{ClusterType: {edsCluster("a")}}))
					update = func(v string) {
						setSnapshot(t, sc, snapshot(t, v, map[TypeURL][]types.Resource{ClusterType: {edsCluster("a"), edsCluster("b-" + v)}}))
					}
				case "linear":
					var lcs map[TypeURL]*cachev3.LinearCache
					srv, lcs = newLinearCP(t, ClusterType)
					if err := lcs[ClusterType].UpdateResource("a", edsCluster("a")); err != nil {
						t.Fatal(err)
					}
					update = func(v string) {
						if err := lcs[ClusterType].UpdateResource("b-"+v, edsCluster("b-"+v)); err != nil {
							t.Error(err)
						}
					}
				}
				c := connect(t, testConfig(srv.addr, p.delta))
				if err := c.Subscribe(ClusterType); err != nil {
					t.Fatal(err)
				}
				for i, v := range []string{"v1", "v2", "v3"} {
					if i > 0 {
						update(v)
					}
					want := []string{"a"}
					if i > 0 && !p.delta {
						want = append(want, "b-"+v)
					} else if i > 0 {
						want = []string{"b-" + v}
					}
					ev, _ := waitEvent(t, c, 5*time.Second, v, isResponse(ClusterType, want...))
					if ev.Nonce == "" || ev.Rejected != nil || ev.Err != nil {
						t.Fatalf("%s: event %s", v, describe([]Event{ev}))
					}
					var ack req
					eventually(t, 5*time.Second, "the ACK of "+v, func() bool {
						var ok bool
						ack, ok = lastRequest(srv, ClusterType, ev.Nonce)
						return ok
					})
					if ack.detail != nil {
						t.Errorf("%s: ACK carries error_detail %v", v, ack.detail)
					}
					if !p.delta && ack.version != ev.Version {
						t.Errorf("%s: ACK version_info %q, want the response's %q", v, ack.version, ev.Version)
					}
				}
			})
		}
	}
}

// TestNACK checks gRFC A46 and the NACK's exact fields: the valid resources of a response
// are applied, an invalid one keeps its last good value, and the NACK echoes the new nonce,
// keeps the last accepted version_info and names each rejected resource and why in an
// INVALID_ARGUMENT error_detail.
func TestNACK(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			srv, sc := newSnapshotCP(t, snapshot(t, "v1", map[TypeURL][]types.Resource{
				ClusterType: {edsCluster("a"), edsCluster("b")},
			}))
			c := connect(t, testConfig(srv.addr, p.delta))
			if err := c.Subscribe(ClusterType); err != nil {
				t.Fatal(err)
			}
			waitEvent(t, c, 5*time.Second, "v1", isResponse(ClusterType, "a", "b"))
			goodB := c.State(ClusterType)["b"]

			// v2: a changes (valid), b becomes invalid, c is new (valid), d is invalid and new.
			a2 := edsCluster("a")
			a2.ConnectTimeout.Seconds = 7
			setSnapshot(t, sc, snapshot(t, "v2", map[TypeURL][]types.Resource{
				ClusterType: {a2, badCluster("b"), edsCluster("c"), badCluster("d")},
			}))
			ev, _ := waitEvent(t, c, 5*time.Second, "v2", isResponse(ClusterType, "a", "c"))

			if len(ev.Resources) != 2 {
				t.Errorf("accepted %v, want a and c", describe([]Event{ev}))
			}
			for _, name := range []string{"b", "d"} {
				err := ev.Rejected[name]
				var verr *resource.ValidationError
				if !errors.Is(err, ErrInvalidResource) || !errors.As(err, &verr) {
					t.Errorf("Rejected[%q] = %v, want an invalid-resource error wrapping a ValidationError", name, err)
				}
			}
			if !errors.Is(ev.Err, ErrNack) {
				t.Errorf("event error %v, want KindNack", ev.Err)
			}
			if len(ev.Removed) != 0 {
				t.Errorf("removed %v: a rejected resource is not removed", ev.Removed)
			}

			state := c.State(ClusterType)
			if got := state["a"].(*resource.Cluster).ConnectTimeout; got != 7*time.Second {
				t.Errorf("a not updated: connect timeout %v", got)
			}
			if state["b"] != goodB {
				t.Errorf("b lost its last good value: %v", state["b"])
			}
			if _, ok := state["c"]; !ok {
				t.Error("c, valid and new, was not applied")
			}
			if _, ok := state["d"]; ok {
				t.Error("d, invalid and new, was applied")
			}

			var nack req
			eventually(t, 5*time.Second, "the NACK", func() bool {
				var ok bool
				nack, ok = lastRequest(srv, ClusterType, ev.Nonce)
				return ok
			})
			if nack.detail == nil {
				t.Fatalf("the request with the v2 nonce %q has no error_detail: %+v", ev.Nonce, nack)
			}
			if codes.Code(nack.detail.GetCode()) != codes.InvalidArgument {
				t.Errorf("error_detail code %v, want INVALID_ARGUMENT", codes.Code(nack.detail.GetCode()))
			}
			msg := nack.detail.GetMessage()
			for _, want := range []string{`"b"`, `"d"`, "connect_timeout", "greater than 0s"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error_detail %q does not mention %s", msg, want)
				}
			}
			if strings.Contains(msg, `"a"`) || strings.Contains(msg, `"c"`) {
				t.Errorf("error_detail %q names valid resources", msg)
			}
			if !p.delta && nack.version != "v1" {
				t.Errorf("NACK version_info %q, want the last accepted v1", nack.version)
			}

			// A fixed snapshot is accepted and ACKed with its version.
			setSnapshot(t, sc, snapshot(t, "v3", map[TypeURL][]types.Resource{
				ClusterType: {a2, edsCluster("b"), edsCluster("c")},
			}))
			ev, _ = waitEvent(t, c, 10*time.Second, "v3", func(ev Event) bool {
				return isResponse(ClusterType, "b")(ev) && ev.Rejected == nil
			})
			eventually(t, 5*time.Second, "the ACK of v3", func() bool {
				ack, ok := lastRequest(srv, ClusterType, ev.Nonce)
				return ok && ack.detail == nil && (p.delta || ack.version == "v3")
			})
		})
	}
}

// TestNACKDoesNotSpin: go-control-plane answers a state-of-the-world NACK (which carries
// the old version) by sending the same response again at once. The client must not answer
// each resend at once, or the two would loop as fast as the network goes.
func TestNACKDoesNotSpin(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			srv, sc := newSnapshotCP(t, snapshot(t, "v1", map[TypeURL][]types.Resource{
				ClusterType: {edsCluster("good"), badCluster("bad")},
			}))
			cfg := testConfig(srv.addr, p.delta)
			cfg.Backoff = Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
			c := connect(t, cfg)
			if err := c.Subscribe(ClusterType); err != nil {
				t.Fatal(err)
			}
			ev, _ := waitEvent(t, c, 5*time.Second, "the first response", isResponse(ClusterType, "good"))
			if ev.Rejected["bad"] == nil {
				t.Fatalf("bad was not rejected: %s", describe([]Event{ev}))
			}
			start := len(srv.requestsOf(ClusterType))
			time.Sleep(1500 * time.Millisecond)
			// Without the delay this is thousands. With it: at 100 ms, then 160, 256, 410,
			// 655 ms (±20%) after each resend, at most 6 in 1.5 s.
			if n := len(srv.requestsOf(ClusterType)) - start; n > 8 {
				t.Fatalf("%d requests in 1.5 s while the server resent the same bad response", n)
			}
			if _, ok := c.State(ClusterType)["good"]; !ok {
				t.Error("the valid resource was not kept")
			}
			// A fix still gets through: the next delayed NACK asks for it.
			setSnapshot(t, sc, snapshot(t, "v2", map[TypeURL][]types.Resource{
				ClusterType: {edsCluster("good"), edsCluster("bad")},
			}))
			waitEvent(t, c, 5*time.Second, "the fix", func(ev Event) bool {
				return isResponse(ClusterType, "bad")(ev) && ev.Rejected == nil
			})
		})
	}
}

// TestNACKDetailBounded: thousands of rejected resources make an error_detail of bounded
// size that still says how many there were.
func TestNACKDetailBounded(t *testing.T) {
	rejected := map[string]error{}
	for i := range 5000 {
		name := strings.Repeat("x", 50) + string(rune('a'+i%26)) + strings.Repeat("y", i%7) + string(rune(i))
		rejected[name] = invalid(ClusterType, name, "rejected", errors.New(strings.Repeat("reason ", 20)))
	}
	st := nackDetail(ClusterType, 6000, rejected, nil)
	if n := len(st.GetMessage()); n > maxNackBytes+4096 {
		t.Errorf("error_detail of %d bytes", n)
	}
	if !strings.Contains(st.GetMessage(), "and ") || !strings.Contains(st.GetMessage(), "more") {
		t.Errorf("error_detail does not count the resources left out: ...%s", st.GetMessage()[len(st.GetMessage())-100:])
	}
	if !proto.Equal(st, nackDetail(ClusterType, 6000, rejected, nil)) {
		t.Error("error_detail is not deterministic")
	}
}

// TestFingerprint: a resent response is recognised whatever the order of its resources,
// and a changed one is not.
func TestFingerprint(t *testing.T) {
	seed := maphash.MakeSeed()
	ts := newTypeState(ClusterType)
	items := []received{{name: "a", raw: []byte{1}}, {name: "b", raw: []byte{2}}, {name: "c", raw: []byte{3}}}
	fp := fingerprint(seed, &response{ts: ts, version: "v1", items: items})
	shuffled := []received{items[2], items[0], items[1]}
	if fingerprint(seed, &response{ts: ts, version: "v1", items: shuffled}) != fp {
		t.Error("the order of resources changes the fingerprint")
	}
	for name, r := range map[string]*response{
		"version":  {ts: ts, version: "v2", items: items},
		"content":  {ts: ts, version: "v1", items: []received{items[0], items[1], {name: "c", raw: []byte{4}}}},
		"names":    {ts: ts, version: "v1", items: []received{items[0], items[1], {name: "d", raw: []byte{3}}}},
		"removed":  {ts: ts, version: "v1", items: items, removed: []string{"x"}},
		"fewer":    {ts: ts, version: "v1", items: items[:2]},
		"dup swap": {ts: ts, version: "v1", items: []received{{name: "a", raw: []byte{2}}, {name: "b", raw: []byte{1}}, items[2]}},
	} {
		if fingerprint(seed, r) == fp {
			t.Errorf("a different %s gives the same fingerprint", name)
		}
	}
}
