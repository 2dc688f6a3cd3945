package meshless

import (
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// TestCanary makes 5,000 calls from node-a to a meshlet whose Pods v1 and v2 run on node-b
// with canary weights 90/10, and counts which Pod greeted each: the split is within 2
// points of the weights (4.7 standard deviations). Then it moves the weights to 50/50 and checks the split follows,
// without a restart.
func TestCanary(t *testing.T) {
	const total = 5000
	meshlets := []*meshlessv1.Meshlet{
		newMeshlet("cli", calls("echo.can.t")),
		newMeshlet("can", serves("can", svc("echo")), canary("v1", 90, "v2", 10)),
	}
	pods := []*corev1.Pod{
		newPod("ca", nodeA, meshlessv1.LabelMeshlet, "cli"),
		newPod("v1", nodeB, meshlessv1.LabelMeshlet, "can", "app", "can", meshlessv1.LabelVersion, "v1"),
		newPod("v2", nodeB, meshlessv1.LabelMeshlet, "can", "app", "can", meshlessv1.LabelVersion, "v2"),
	}
	m := newTestMesh(t, meshlets, pods)
	m.serve(t, nodeB, "v1", "echo", greetEcho("v1"))
	m.serve(t, nodeB, "v2", "echo", greetEcho("v2"))

	split := func(n int) map[string]int {
		t.Helper()
		const workers = 8
		var (
			mu     sync.Mutex
			counts = map[string]int{}
			wg     sync.WaitGroup
			errs   = make(chan error, workers)
		)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					c, code, err := m.call(nodeA, "ca", "echo.can.t")
					if err == nil && code != protocol.OK {
						err = fmt.Errorf("code %d (%s)", code, code)
					}
					if err != nil {
						errs <- fmt.Errorf("call %d: %w", i, err)
						return
					}
					pod, err := readGreeting(c)
					c.Close()
					if err != nil {
						errs <- fmt.Errorf("call %d: greeting: %w", i, err)
						return
					}
					mu.Lock()
					counts[pod]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		return counts
	}
	check := func(counts map[string]int, n int, tolerance float64, want map[string]float64) {
		t.Helper()
		total := 0
		for pod, c := range counts {
			if _, ok := want[pod]; !ok {
				t.Errorf("pod %s served %d calls", pod, c)
			}
			total += c
		}
		if total != n {
			t.Errorf("%d greetings for %d calls", total, n)
		}
		for pod, share := range want {
			got := float64(counts[pod]) / float64(n)
			if got < share-tolerance || got > share+tolerance {
				t.Errorf("pod %s served %.2f%% of %d calls, want %.0f%% ± %.0f", pod, 100*got, n, 100*share, 100*tolerance)
			}
		}
		t.Logf("split over %d calls: %v", n, counts)
	}
	check(split(total), total, 0.02, map[string]float64{"v1": 0.9, "v2": 0.1})

	// Moving the weights changes the split of new calls.
	m.meshlets.Upsert(newMeshlet("can", serves("can", svc("echo")), canary("v1", 50, "v2", 50)))
	waitFor(t, "the new weights", func() bool {
		seen := map[string]bool{}
		for range 20 {
			c, code, err := m.call(nodeA, "ca", "echo.can.t")
			if err != nil || code != protocol.OK {
				t.Fatalf("call: %d, %v", code, err)
			}
			pod, _ := readGreeting(c)
			c.Close()
			seen[pod] = true
		}
		return seen["v1"] && seen["v2"]
	})
	// 1,000 calls are enough to see the change: ±5 points is 3 standard deviations.
	check(split(1000), 1000, 0.05, map[string]float64{"v1": 0.5, "v2": 0.5})
	if n := m.node(nodeB).ln.accepted.Load(); n != 1 {
		t.Errorf("%d tunnel connections for all the calls, want 1", n)
	}
}
