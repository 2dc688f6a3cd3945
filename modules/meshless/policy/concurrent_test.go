package policy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// TestConcurrentDecisions decides from several goroutines while the inputs change, for the
// race detector: every answer must be one the world can produce at some moment.
func TestConcurrentDecisions(t *testing.T) {
	f := newFixture(t, worldMeshlets(), worldPods())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(g), 1))
			var buf []Endpoint
			for ctx.Err() == nil {
				c, err := f.p.Caller("shop", "web-1")
				if err != nil {
					errs <- err
					return
				}
				d, err := f.p.Authorize(c, api)
				if err == nil {
					buf, err = d.Pick(buf[:0], 3, nil, rnd)
				}
				switch CodeOf(err) {
				case protocol.OK, protocol.NoEndpoint, protocol.ServiceNotFound:
				default:
					errs <- err
					return
				}
			}
		})
	}
	backend := worldMeshlets()[2]
	for i := range 200 {
		f.pods.Upsert(newPod("shop", fmt.Sprintf("backend-%d", i%5), labels("app", "backend")))
		if i%3 == 0 {
			f.pods.Delete(fmt.Sprintf("shop/backend-%d", (i+2)%5))
		}
		if i%50 == 0 {
			f.meshlets.Delete("shop/backend")
			f.meshlets.Upsert(backend)
		}
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("decision while writing: %v", err)
	}
}

// TestLiveCanary changes the weights and waits for the picks to follow.
func TestLiveCanary(t *testing.T) {
	backend := func(pairs ...any) *meshlessv1.Meshlet {
		return newMeshlet("shop", "backend", serves(labels("app", "backend"), svc("api")), canary(pairs...))
	}
	f := newFixture(t, []*meshlessv1.Meshlet{newMeshlet("shop", "web", calls(api)), backend("v1", 100, "v2", 0)},
		append(versionPods("v1", 2), versionPods("v2", 2)...))
	only := func(version string) bool {
		d, err := f.p.AuthorizeInbound("shop", "web", api)
		if err != nil {
			return false
		}
		for range 20 {
			eps, err := d.Pick(nil, 1, nil, nil)
			if err != nil || eps[0].Version != version {
				return false
			}
		}
		return true
	}
	waitFor(t, "all traffic on v1", func() bool { return only("v1") })
	f.meshlets.Upsert(backend("v1", 0, "v2", 100))
	waitFor(t, "all traffic on v2", func() bool { return only("v2") })
}

// TestStopKeepsLastState: after Stop, decisions still answer from the last state and writes
// no longer reach them.
func TestStopKeepsLastState(t *testing.T) {
	f := newFixture(t, worldMeshlets(), worldPods())
	f.p.Stop()
	f.meshlets.Delete("shop/backend")
	time.Sleep(20 * time.Millisecond) // what a running Policy would need to follow; see TestLive
	if got := f.decide("shop", "web-1", api); got != protocol.OK {
		t.Errorf("after Stop: %v, want the last state's ok", got)
	}
}
