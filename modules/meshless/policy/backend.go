package policy

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// backend is everything the connection path knows about one meshlet: the compiled Meshlet
// and, if it serves, its endpoints grouped for canary selection. It is rebuilt whole when
// the Meshlet or one of its Pods changes, and immutable after, so that Authorize and Pick
// read one consistent snapshot with no lock and the Pods of a meshlet are found without
// looking at any other Pod.
type backend struct {
	m *meshlet

	// groups are the sets of endpoints that take traffic. With a canary list, one per
	// version of weight > 0, in the list's order, each possibly empty; without, one group
	// of every endpoint.
	groups []group
	// fallback lists the groups by decreasing weight (the list's order among equals): the
	// order in which other versions are tried when the chosen one is full.
	fallback []int
	// all is every endpoint, by Pod name, whatever its version: what the destination agent
	// checks that a tunnelled connection's Pod belongs to the meshlet.
	all map[string]Endpoint
}

// group is the endpoints of one canary version, or all endpoints when there is no canary.
type group struct {
	version   string
	weight    uint64
	endpoints []Endpoint
}

// backendKey is the collection key of a backend: its meshlet's.
func backendKey(b *backend) string { return b.m.key }

// meshletJoinKeys returns the label that a meshlet's Pods are joined on, if it serves.
func meshletJoinKeys(m *meshlet) []string {
	if m.joinKey == "" {
		return nil
	}
	return []string{m.joinKey}
}

// buildBackend is the join of a meshlet with the Pods that carry its selector's join label
// (sorted by key, so that the endpoint order is stable). It keeps the Pods that the whole
// selector matches and that serve, and groups them for selection.
func buildBackend(m *meshlet, pods []*corev1.Pod) (*backend, bool) {
	b := &backend{m: m}
	if m.server == nil {
		return b, true
	}
	eps := make([]Endpoint, 0, len(pods))
	for _, p := range pods {
		if p.Namespace != m.namespace || !selects(m.server.Selector, p) {
			continue
		}
		if ep, ok := endpointOf(p); ok {
			eps = append(eps, ep)
		}
	}
	b.all = make(map[string]Endpoint, len(eps))
	for _, ep := range eps {
		b.all[ep.Name] = ep
	}
	b.groups = groupEndpoints(m, eps)
	b.fallback = fallbackOrder(b.groups)
	return b, true
}

// groupEndpoints splits endpoints by canary version. Versions of weight 0, versions not in
// the list, and repeats of a version (which validation forbids) get no group: with a
// canary list, only the listed weights decide where traffic goes.
func groupEndpoints(m *meshlet, eps []Endpoint) []group {
	canary := m.server.Canary
	if len(canary) == 0 {
		return []group{{weight: 1, endpoints: eps}}
	}
	groups := make([]group, 0, len(canary))
	for _, c := range canary {
		if c.Weight <= 0 || slices.ContainsFunc(groups, func(g group) bool { return g.version == c.Version }) {
			continue
		}
		g := group{version: c.Version, weight: uint64(c.Weight)}
		for _, ep := range eps {
			if ep.Version == c.Version {
				g.endpoints = append(g.endpoints, ep)
			}
		}
		groups = append(groups, g)
	}
	return groups
}

func fallbackOrder(groups []group) []int {
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(groups[b].weight, groups[a].weight) })
	return order
}
