package policy

import (
	"math/bits"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// MaxCandidates is the most endpoints one Pick returns. An agent retries only a few Pods
// before giving up, and a bound lets Pick rank them in a fixed array instead of sorting
// every Pod.
const MaxCandidates = 8

// Pick chooses the Pods for a new connection to the destination and appends up to n of them
// to dst (n is clamped to 1..MaxCandidates), best first: the agent connects to the first,
// and moves to the next if the destination agent answers protocol.ConnectionLimit or cannot
// be reached.
//
// The first candidate is chosen as the package documentation describes: a canary version
// by weight, then the least loaded Pod of that version, skipping Pods at maxConn. The next
// candidates are the other Pods of that version, least loaded first, then those of the
// other versions in decreasing weight. The error is protocol.NoEndpoint when no version
// that may take traffic has a ready Pod, and protocol.ConnectionLimit when all of them are
// full.
//
// active may be nil, meaning every Pod is idle; rnd may be nil, meaning math/rand/v2's
// global source. Pick allocates nothing when dst has room for the candidates.
func (d Destination) Pick(dst []Endpoint, n int, active ActiveConns, rnd Rand) ([]Endpoint, error) {
	n = min(max(n, 1), MaxCandidates)
	if rnd == nil {
		rnd = globalRand{}
	}
	b := d.b
	if b == nil {
		return dst, Refuse(protocol.NoEndpoint, "service %s: not authorized", d.ID)
	}
	first := chooseGroup(b.groups, rnd)
	if first < 0 {
		return dst, Refuse(protocol.NoEndpoint, "service %s: no ready pod%s", d.ID, b.trafficNote())
	}
	start := len(dst)
	dst = d.leastLoaded(dst, &b.groups[first], n, active, rnd)
	for _, gi := range b.fallback {
		if len(dst)-start >= n {
			break
		}
		if gi != first {
			dst = d.leastLoaded(dst, &b.groups[gi], n-(len(dst)-start), active, rnd)
		}
	}
	if len(dst) == start {
		return dst, Refuse(protocol.ConnectionLimit, "service %s: every ready pod%s holds maxConn=%d connections",
			d.ID, b.trafficNote(), d.MaxConn)
	}
	return dst, nil
}

// chooseGroup draws a group with probability proportional to its weight among the groups
// that have endpoints: dropping the empty ones and drawing from what remains is exactly
// redistributing their weight proportionally. It returns -1 when no group has endpoints.
func chooseGroup(groups []group, rnd Rand) int {
	var total uint64
	for i := range groups {
		if len(groups[i].endpoints) > 0 {
			total += groups[i].weight
		}
	}
	if total == 0 {
		return -1
	}
	// The high word of a 64×64-bit product is uniform on [0, total) to within total/2⁶⁴:
	// no modulo bias worth a rejection loop.
	x, _ := bits.Mul64(rnd.Uint64(), total)
	for i := range groups {
		if len(groups[i].endpoints) == 0 {
			continue
		}
		if x < groups[i].weight {
			return i
		}
		x -= groups[i].weight
	}
	return -1 // unreachable: x < total
}

// ranked is a Pod under consideration: fewer connections first, ties broken by a random
// draw so that equally loaded Pods share new connections evenly.
type ranked struct {
	i     int
	conns int
	tie   uint64
}

func (r ranked) less(o ranked) bool { return r.conns < o.conns || r.conns == o.conns && r.tie < o.tie }

// leastLoaded appends the want least loaded Pods of g that are below maxConn, least loaded
// first. It asks active once per Pod and keeps the best in a fixed array, so it costs one
// pass over the group and no allocation.
func (d Destination) leastLoaded(dst []Endpoint, g *group, want int, active ActiveConns, rnd Rand) []Endpoint {
	var best [MaxCandidates]ranked
	m := 0
	for i := range g.endpoints {
		conns := 0
		if active != nil {
			conns = active.ActiveConns(g.endpoints[i].Key, d.ID.Service)
		}
		if d.Full(conns) || m == want && conns > best[m-1].conns {
			continue
		}
		r := ranked{i: i, conns: conns, tie: rnd.Uint64()}
		pos := m
		if m < want {
			m++
		} else if r.less(best[m-1]) {
			pos = m - 1 // r takes the worst one's place
		} else {
			continue
		}
		for pos > 0 && r.less(best[pos-1]) {
			best[pos] = best[pos-1]
			pos--
		}
		best[pos] = r
	}
	for _, r := range best[:m] {
		dst = append(dst, g.endpoints[r.i])
	}
	return dst
}

// trafficNote qualifies "ready pod" in refusals when a canary list restricts which Pods
// take traffic, so that an operator looking at ready Pods of other versions sees why.
func (b *backend) trafficNote() string {
	if b.m.server != nil && len(b.m.server.Canary) > 0 {
		return " of a canary version with weight > 0"
	}
	return ""
}
