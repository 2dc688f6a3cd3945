package policy

import (
	"fmt"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// The benchmark mesh: 1,000 meshlets in 10 namespaces, each serving "svc" on 10 Pods (8 of
// version v1, 2 of v2, split 90/10, maxConn 100) and calling the services of the next 10
// meshlets of its namespace: 10,000 Pods in all.
const (
	benchNamespaces = 10
	benchPerNS      = 100
	benchPods       = 10
	benchCalls      = 10
)

// benchConns is an ActiveConns as an agent might keep it: a map keyed by struct, which
// costs no allocation to look up.
type benchConns map[[2]string]int

func (c benchConns) ActiveConns(podKey, service string) int { return c[[2]string{podKey, service}] }

type benchWorld struct {
	f      *fixture
	pairs  []benchPair // one per meshlet: its first Pod calling its first listed service
	active benchConns
}

type benchPair struct {
	ns, pod, meshlet string
	dest             protocol.ServiceID
}

func newBenchWorld(b *testing.B) *benchWorld {
	var meshlets []*meshlessv1.Meshlet
	var pods []*corev1.Pod
	w := &benchWorld{active: benchConns{}}
	rnd := rand.New(rand.NewPCG(1, 1))
	for n := range benchNamespaces {
		ns := fmt.Sprintf("ns-%d", n)
		for i := range benchPerNS {
			name := fmt.Sprintf("m-%03d", i)
			var targets []protocol.ServiceID
			for j := 1; j <= benchCalls; j++ {
				targets = append(targets, sid("svc", fmt.Sprintf("m-%03d", (i+j)%benchPerNS), ns))
			}
			meshlets = append(meshlets, newMeshlet(ns, name, calls(targets...),
				serves(labels("app", name), svcMax("svc", 100)), canary("v1", 90, "v2", 10)))
			for p := range benchPods {
				version := "v1"
				if p >= 8 {
					version = "v2"
				}
				pod := newPod(ns, fmt.Sprintf("%s-%d", name, p), labels("app", name, meshlessv1.LabelMeshlet, name,
					meshlessv1.LabelVersion, version, "pod-template-hash", "5d8c7b9f4"))
				pods = append(pods, pod)
				w.active[[2]string{ns + "/" + pod.Name, "svc"}] = rnd.IntN(50)
			}
			w.pairs = append(w.pairs, benchPair{ns: ns, pod: name + "-0", meshlet: name, dest: targets[0]})
		}
	}
	w.f = newFixture(b, meshlets, pods)
	return w
}

func BenchmarkCaller(b *testing.B) {
	w := newBenchWorld(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		pr := &w.pairs[i%len(w.pairs)]
		if _, err := w.f.p.Caller(pr.ns, pr.pod); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkAuthorize(b *testing.B) {
	w := newBenchWorld(b)
	callers := make([]Caller, len(w.pairs))
	for i, pr := range w.pairs {
		c, err := w.f.p.Caller(pr.ns, pr.pod)
		if err != nil {
			b.Fatal(err)
		}
		callers[i] = c
	}
	b.Run("authorize", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := w.f.p.Authorize(callers[i%len(callers)], w.pairs[i%len(w.pairs)].dest); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("caller+authorize", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			pr := &w.pairs[i%len(w.pairs)]
			c, err := w.f.p.Caller(pr.ns, pr.pod)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.f.p.Authorize(c, pr.dest); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("inbound", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			pr := &w.pairs[i%len(w.pairs)]
			if _, err := w.f.p.AuthorizeInbound(pr.ns, pr.meshlet, pr.dest); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("denied", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			pr := &w.pairs[i%len(w.pairs)]
			if _, err := w.f.p.Authorize(callers[i%len(callers)], sid("svc", pr.meshlet, pr.ns)); CodeOf(err) != protocol.NotAllowed {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkPick(b *testing.B) {
	w := newBenchWorld(b)
	dests := make([]Destination, len(w.pairs))
	for i, pr := range w.pairs {
		d, err := w.f.p.AuthorizeInbound(pr.ns, pr.meshlet, pr.dest)
		if err != nil {
			b.Fatal(err)
		}
		dests[i] = d
	}
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("candidates=%d", n), func(b *testing.B) {
			rnd := rand.New(rand.NewPCG(1, 2))
			buf := make([]Endpoint, 0, MaxCandidates)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := dests[i%len(dests)].Pick(buf[:0], n, w.active, rnd); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	b.Run("candidates=3/parallel/global-rand", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]Endpoint, 0, MaxCandidates)
			i := 0
			for pb.Next() {
				if _, err := dests[i%len(dests)].Pick(buf[:0], 3, w.active, nil); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

// BenchmarkDecision is a whole connection's decision: caller, authorization and pick.
func BenchmarkDecision(b *testing.B) {
	w := newBenchWorld(b)
	rnd := rand.New(rand.NewPCG(1, 2))
	buf := make([]Endpoint, 0, MaxCandidates)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		pr := &w.pairs[i%len(w.pairs)]
		c, err := w.f.p.Caller(pr.ns, pr.pod)
		if err != nil {
			b.Fatal(err)
		}
		d, err := w.f.p.Authorize(c, pr.dest)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Pick(buf[:0], 3, w.active, rnd); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
