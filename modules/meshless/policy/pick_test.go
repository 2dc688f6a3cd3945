package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// versionPods returns count Pods of backend labelled with the version, named
// "<version>-<i>".
func versionPods(version string, count int) []*corev1.Pod {
	var pods []*corev1.Pod
	for i := range count {
		l := labels("app", "backend")
		if version != "" {
			l[meshlessv1.LabelVersion] = version
		}
		pods = append(pods, newPod("shop", fmt.Sprintf("%s-%d", version, i), l))
	}
	return pods
}

// pickFixture is a caller "web" allowed to call api on meshlet backend, whose Pods and
// options the test gives.
func pickFixture(t *testing.T, backendOpts []meshletOpt, pods ...[]*corev1.Pod) Destination {
	t.Helper()
	backend := newMeshlet("shop", "backend", append([]meshletOpt{serves(labels("app", "backend"), svcMax("api", 2))}, backendOpts...)...)
	f := newFixture(t, []*meshlessv1.Meshlet{newMeshlet("shop", "web", calls(api)), backend}, slices.Concat(pods...))
	d, err := f.p.AuthorizeInbound("shop", "web", api)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// shares picks n times and returns the share of picks that each version's Pods won.
func shares(t *testing.T, d Destination, n int, active ActiveConns, rnd Rand) map[string]float64 {
	t.Helper()
	counts := map[string]int{}
	buf := make([]Endpoint, 0, 1)
	for range n {
		eps, err := d.Pick(buf[:0], 1, active, rnd)
		if err != nil {
			t.Fatal(err)
		}
		counts[eps[0].Version]++
	}
	out := map[string]float64{}
	for v, c := range counts {
		out[v] = float64(c) / float64(n)
	}
	return out
}

func TestCanarySplit(t *testing.T) {
	tests := []struct {
		name   string
		canary []any
		pods   [][]*corev1.Pod
		want   map[string]float64
	}{
		{"90/10", []any{"v1", 90, "v2", 10},
			[][]*corev1.Pod{versionPods("v1", 3), versionPods("v2", 1)},
			map[string]float64{"v1": 0.9, "v2": 0.1}},
		{"a weighted version with no pods gives its share to the others, in proportion",
			[]any{"v1", 60, "v2", 30, "v3", 10},
			[][]*corev1.Pod{versionPods("v1", 2), versionPods("v2", 2)},
			map[string]float64{"v1": 2.0 / 3, "v2": 1.0 / 3}},
		{"weight 0 is never chosen", []any{"v1", 50, "v2", 0, "v3", 50},
			[][]*corev1.Pod{versionPods("v1", 1), versionPods("v2", 5), versionPods("v3", 1)},
			map[string]float64{"v1": 0.5, "v3": 0.5}},
		{"versions outside the list and unlabelled pods take no traffic", []any{"v1", 100},
			[][]*corev1.Pod{versionPods("v1", 1), versionPods("v9", 3), versionPods("", 3)},
			map[string]float64{"v1": 1}},
		{"without a canary list every pod takes traffic alike", nil,
			[][]*corev1.Pod{versionPods("v1", 1), versionPods("v2", 1), versionPods("", 2)},
			map[string]float64{"v1": 0.25, "v2": 0.25, "": 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []meshletOpt
			if tt.canary != nil {
				opts = append(opts, canary(tt.canary...))
			}
			d := pickFixture(t, opts, tt.pods...)
			for _, seed := range []uint64{1, 2, 42} {
				got := shares(t, d, 5000, nil, rand.New(rand.NewPCG(seed, seed)))
				for v := range got {
					if _, ok := tt.want[v]; !ok {
						t.Errorf("seed %d: version %q got %.3f of the picks, want none", seed, v, got[v])
					}
				}
				for v, w := range tt.want {
					if math.Abs(got[v]-w) > 0.02 {
						t.Errorf("seed %d: version %q got %.3f of the picks, want %.3f ± 0.02", seed, v, got[v], w)
					}
				}
			}
		})
	}
}

func TestNoEndpoint(t *testing.T) {
	tests := []struct {
		name   string
		canary []any
		pods   [][]*corev1.Pod
	}{
		{"no pods", nil, nil},
		{"only pods that are not ready", nil, [][]*corev1.Pod{{newPod("shop", "p", labels("app", "backend"), notReady)}}},
		{"weighted versions have no pods, others do", []any{"v1", 90, "v2", 10}, [][]*corev1.Pod{versionPods("v3", 2)}},
		{"every listed weight is 0", []any{"v1", 0, "v2", 0}, [][]*corev1.Pod{versionPods("v1", 2), versionPods("v2", 2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []meshletOpt
			if tt.canary != nil {
				opts = append(opts, canary(tt.canary...))
			}
			d := pickFixture(t, opts, tt.pods...)
			eps, err := d.Pick(nil, 3, nil, nil)
			if CodeOf(err) != protocol.NoEndpoint || len(eps) != 0 {
				t.Errorf("Pick = %v, %v; want no endpoint", names(eps), err)
			}
		})
	}
	if _, err := (Destination{}).Pick(nil, 1, nil, nil); CodeOf(err) != protocol.NoEndpoint {
		t.Errorf("zero Destination: %v, want no endpoint", err)
	}
}

// TestLeastConnections checks the order of candidates by load; maxConn is 2, so a Pod
// holding 2 is skipped.
func TestLeastConnections(t *testing.T) {
	pods := versionPods("", 4) // -0 … -3
	tests := []struct {
		name   string
		active conns
		n      int
		want   []string
	}{
		{"the least loaded first, full pods skipped", conns{"shop/-0 api": 1, "shop/-1 api": 2, "shop/-2 api": 0, "shop/-3 api": 1}, 4, nil},
		{"one candidate", conns{"shop/-0 api": 1, "shop/-1 api": 1, "shop/-2 api": 0, "shop/-3 api": 1}, 1, []string{"-2"}},
		{"other services' connections do not count", conns{"shop/-0 admin": 9, "shop/-1 api": 1, "shop/-2 api": 1, "shop/-3 api": 1}, 1, []string{"-0"}},
	}
	d := pickFixture(t, nil, pods)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps, err := d.Pick(nil, tt.n, tt.active, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			got := names(eps)
			if tt.want == nil { // ties: check loads are non-decreasing and the set is right
				if len(got) != 3 || got[0] != "-2" || slices.Contains(got, "-1") {
					t.Errorf("candidates %v: want -2 first, then -0 and -3 in either order, never the full -1", got)
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("candidates %v, want %v", got, tt.want)
			}
		})
	}
}

// TestTiesShared checks that equally loaded Pods share the first place.
func TestTiesShared(t *testing.T) {
	d := pickFixture(t, nil, versionPods("", 4))
	active := conns{"shop/-0 api": 1} // the other three tie at 0
	rnd := rand.New(rand.NewPCG(7, 7))
	won := map[string]int{}
	for range 3000 {
		eps, err := d.Pick(nil, 1, active, rnd)
		if err != nil {
			t.Fatal(err)
		}
		won[eps[0].Name]++
	}
	if won["-0"] != 0 {
		t.Errorf("the loaded pod won %d times", won["-0"])
	}
	for _, n := range []string{"-1", "-2", "-3"} {
		if math.Abs(float64(won[n])/3000-1.0/3) > 0.03 {
			t.Errorf("tied pod %s won %d of 3000, want about 1000", n, won[n])
		}
	}
}

// TestMaxConn counts connections as an agent would: each pick adds one to the chosen Pod.
// With maxConn 2 and 2 Pods, connections 1 to 4 are placed and the 5th gets code 7.
func TestMaxConn(t *testing.T) {
	d := pickFixture(t, nil, versionPods("", 2))
	active := conns{}
	for i := 1; i <= 5; i++ {
		eps, err := d.Pick(nil, 1, active, nil)
		if i <= 4 {
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			active[eps[0].Key+" api"]++
			continue
		}
		if CodeOf(err) != protocol.ConnectionLimit || len(eps) != 0 {
			t.Fatalf("connection %d: %v, %v; want connection limit", i, names(eps), err)
		}
	}
	if active["shop/-0 api"] != 2 || active["shop/-1 api"] != 2 {
		t.Errorf("connections per pod %v, want 2 each: least connections spreads them", active)
	}
}

// TestFullVersionFallsBack: when every Pod of the drawn version is full, the other weighted
// versions take the connection; when every weighted version is full, the answer is 7.
func TestFullVersionFallsBack(t *testing.T) {
	pods := [][]*corev1.Pod{versionPods("v1", 2), versionPods("v2", 1), versionPods("v3", 1), versionPods("v4", 1)}
	d := pickFixture(t, []meshletOpt{canary("v1", 10, "v2", 60, "v3", 30, "v4", 0)}, pods...)
	rnd := rand.New(rand.NewPCG(3, 4))
	t.Run("drawn version full", func(t *testing.T) {
		active := conns{"shop/v2-0 api": 2} // v2 (60%) is full
		got := shares(t, d, 2000, active, rnd)
		if got["v2"] != 0 || got["v4"] != 0 {
			t.Errorf("shares %v: the full v2 and the weight-0 v4 must get nothing", got)
		}
		if math.Abs(got["v3"]-0.3-0.6) > 0.04 { // v3 is the heaviest other version
			t.Errorf("shares %v: v3 takes its own 30%% and v2's overflow", got)
		}
	})
	t.Run("candidates after the drawn version", func(t *testing.T) {
		active := conns{"shop/v1-0 api": 1}
		for range 50 {
			eps, err := d.Pick(nil, MaxCandidates, active, rnd)
			if err != nil {
				t.Fatal(err)
			}
			var rest []string
			for _, ep := range eps[1:] {
				if ep.Version != eps[0].Version {
					rest = append(rest, ep.Version)
				}
			}
			// The drawn version's Pods come first, then the others by decreasing weight.
			want := slices.DeleteFunc([]string{"v2", "v3", "v1", "v1"}, func(v string) bool { return v == eps[0].Version })
			if !slices.Equal(rest, want) {
				t.Fatalf("candidates %v: after %s want versions %v, got %v", names(eps), eps[0].Version, want, rest)
			}
			if eps[0].Version == "v1" && (eps[0].Name != "v1-1" || eps[1].Name != "v1-0") {
				t.Fatalf("candidates %v: within v1 the idle pod comes first", names(eps))
			}
		}
	})
	t.Run("every weighted version full", func(t *testing.T) {
		active := conns{"shop/v1-0 api": 2, "shop/v1-1 api": 5, "shop/v2-0 api": 2, "shop/v3-0 api": 2}
		eps, err := d.Pick(nil, 3, active, rnd)
		if CodeOf(err) != protocol.ConnectionLimit || len(eps) != 0 {
			t.Errorf("Pick = %v, %v; want connection limit even though weight-0 v4 has room", names(eps), err)
		}
	})
}

// TestPickAppends checks the dst contract and the clamping of n.
func TestPickAppends(t *testing.T) {
	d := pickFixture(t, nil, versionPods("", MaxCandidates+2))
	head := Endpoint{Name: "kept"}
	eps, err := d.Pick([]Endpoint{head}, 100, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 1+MaxCandidates || eps[0] != head {
		t.Errorf("Pick appended %d after %v, want %d after the kept head", len(eps)-1, eps[0].Name, MaxCandidates)
	}
	eps, err = d.Pick(nil, 0, nil, nil)
	if err != nil || len(eps) != 1 {
		t.Errorf("n=0: %v, %v; want one candidate", names(eps), err)
	}
}

// TestDecisionAllocs: an allowed call allocates nothing once the lookup keys fit Go's stack
// buffer, whatever the number of Pods.
func TestDecisionAllocs(t *testing.T) {
	d := pickFixture(t, []meshletOpt{canary("v1", 90, "v2", 10)}, versionPods("v1", 20), versionPods("v2", 20))
	active := conns{"shop/v1-3 api": 1}
	rnd := rand.New(rand.NewPCG(1, 1))
	buf := make([]Endpoint, 0, 3)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := d.Pick(buf[:0], 3, active, rnd); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Pick allocates %.1f times per call, want 0", allocs)
	}
}
