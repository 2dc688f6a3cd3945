package gatewayapi

import (
	"cmp"
	"encoding/binary"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// buildGateway is the data plane of an accepted Gateway: one Port per port its
// programmed listeners use, sorted by number.
func (t *translation) buildGateway(g *gatewayState) *Gateway {
	out := &Gateway{Namespace: g.gw.Namespace, Name: g.gw.Name}
	byPort := make(map[gatewayv1.PortNumber][]*listenerState)
	var ports []gatewayv1.PortNumber
	for _, l := range g.listeners {
		if !l.programmed() {
			continue
		}
		if _, ok := byPort[l.spec.Port]; !ok {
			ports = append(ports, l.spec.Port)
		}
		byPort[l.spec.Port] = append(byPort[l.spec.Port], l)
	}
	slices.Sort(ports)
	for _, port := range ports {
		listeners := byPort[port]
		p := &Port{Port: port, Protocol: Protocol(listeners[0].spec.Protocol)}
		for _, l := range listeners {
			p.Certificates = append(p.Certificates, l.certs...)
		}
		slices.SortStableFunc(p.Certificates, func(a, b *Certificate) int {
			if a.Hostname != b.Hostname {
				if hostnameLess(a.Hostname, b.Hostname) {
					return -1
				}
				return 1
			}
			return cmp.Compare(a.Secret, b.Secret)
		})
		name := "gateway " + g.key + ":" + strconv.Itoa(int(port))
		tbl := t.buildTable(name, listeners)
		if t.cache != nil {
			tbl = reuseTable(tbl, t.cache.tables[name])
		}
		t.tables[name] = tbl
		p.Table = tbl
		out.Ports = append(out.Ports, p)
	}
	return out
}

// marks numbers the domains and tables being assembled, for entry.seen and
// compiledRoute.owned: a counter shared by every translation, so that a mark left on a
// cached entry by an earlier one never matches.
var marks atomic.Uint64

// buildTable assembles the virtual hosts of the listeners that share a port.
//
// The runtime picks one virtual host per request: the one with the most specific domain
// matching the Host. The Gateway API needs two more things, and both are built into the
// domains and route lists here:
//
//   - Listener isolation: a request belongs to the listener with the most specific
//     hostname matching its Host, and only that listener's routes may serve it. Every
//     listener hostname is a domain, so the most specific domain matching a request is
//     never less specific than its listener's hostname; a domain's routes are taken only
//     from the listener whose hostname is the domain's nearest ancestor (its "owner").
//   - Hostname precedence across routes: routes whose hostname matches the request more
//     specifically come first, but a less specific route still serves the requests the
//     more specific ones do not match. So a domain's route list is the routes of the
//     domain itself, then those of each ancestor domain ("*.b.c", "*.c", "*"), each
//     group in Gateway API match precedence (as place filed them).
//
// A domain whose list comes out empty is kept when the less specific domain that would
// otherwise take its requests has routes (its requests must get a 404, not another
// listener's routes), and dropped otherwise. Domains with identical route lists share one
// virtual host.
func (t *translation) buildTable(name string, listeners []*listenerState) *table.Table {
	tbl := &table.Table{Name: name}
	owners := make(map[string]*listenerState, len(listeners)) // listener hostname → listener
	domains := make(map[string]struct{})
	for _, l := range listeners {
		owners[l.domain] = l
		domains[l.domain] = struct{}{}
		for d, g := range l.groups {
			if len(g.entries) > 0 { // the domain of a route attached this time
				domains[d] = struct{}{}
			}
		}
	}

	// Domains less specific first, so that a domain's ancestors are settled before it.
	type byDepth struct {
		depth  int
		domain string
	}
	sorted := make([]byDepth, 0, len(domains))
	for d := range domains {
		sorted = append(sorted, byDepth{labelDepth(d), d})
	}
	slices.SortFunc(sorted, func(a, b byDepth) int {
		if c := cmp.Compare(a.depth, b.depth); c != 0 {
			return c
		}
		return strings.Compare(a.domain, b.domain)
	})

	var prev map[string]*domainRoutes
	if t.kept {
		prev = t.cache.domains[name]
	}
	next := make(map[string]*domainRoutes, len(sorted))
	byRoutes := make(map[string]*table.VirtualHost)
	served := make(map[string]bool, len(sorted)) // domains in the table: whether they have routes
	owned := marks.Add(1)
	for _, s := range sorted {
		d := s.domain
		dr := prev[d]
		if dr == nil || !dr.unchanged() {
			if dr = assemble(d, owners); dr == nil {
				continue
			}
		}
		next[d] = dr
		if len(dr.routes) == 0 && !shadows(dr.chain[1:], served) {
			continue
		}
		served[d] = len(dr.routes) > 0
		for _, c := range dr.clusters {
			if c.mark != owned {
				c.mark = owned
				if tbl.Clusters == nil {
					tbl.Clusters = make(map[string]*table.Cluster)
				}
				tbl.Clusters[c.name] = c.cluster
			}
		}
		if vh, ok := byRoutes[dr.key]; ok {
			vh.Domains = append(vh.Domains, d)
			continue
		}
		vh := &table.VirtualHost{Domains: []string{d}, Routes: dr.routes}
		byRoutes[dr.key] = vh
		tbl.VirtualHosts = append(tbl.VirtualHosts, vh)
	}
	t.domains[name] = next
	for _, vh := range tbl.VirtualHosts {
		slices.Sort(vh.Domains)
		vh.Name = vh.Domains[0]
	}
	slices.SortFunc(tbl.VirtualHosts, func(a, b *table.VirtualHost) int { return strings.Compare(a.Name, b.Name) })
	return tbl
}

// domainRoutes is the route list of one domain of a table, as assembled from its owner
// listener's groups: the domain's own, then each ancestor's. A translation that takes
// the gateway states over reuses it while none of those groups changed, so that one
// changed route re-assembles the domains it serves, not all 1,000.
type domainRoutes struct {
	chain  []string // the domain and its ancestors
	owner  *listenerState
	groups []*group // the owner's groups of the chain, as they were
	routes []*table.Route
	// key identifies the list (its entries' ids): domains with equal keys share a
	// virtual host. clusters are the clusters its routes use.
	key      string
	clusters []*clusterSlot
}

// unchanged reports whether the domain's route list is still what it was.
func (dr *domainRoutes) unchanged() bool {
	if dr.owner.grew {
		return false // a group appeared, maybe in the chain
	}
	for _, g := range dr.groups {
		if g.removed || g.changed {
			return false
		}
	}
	return true
}

// assemble is domain d's route list, or nil when no listener of the port owns it.
func assemble(d string, owners map[string]*listenerState) *domainRoutes {
	dr := &domainRoutes{chain: ancestors(d)}
	for _, a := range dr.chain {
		if l, ok := owners[a]; ok {
			dr.owner = l
			break
		}
	}
	if dr.owner == nil {
		return nil
	}
	var key []byte
	seen, used := marks.Add(1), marks.Add(1)
	for _, a := range dr.chain {
		g := dr.owner.groups[a]
		if g == nil {
			continue
		}
		dr.groups = append(dr.groups, g)
		for _, e := range g.entries {
			if e.seen == seen {
				continue // the route also serves a more specific domain of d
			}
			e.seen = seen
			dr.routes = append(dr.routes, e.route)
			key = binary.LittleEndian.AppendUint64(key, e.id)
			for _, c := range e.owner.clusters {
				if c.used != used {
					c.used = used
					dr.clusters = append(dr.clusters, c)
				}
			}
		}
	}
	dr.key = string(key)
	return dr
}

// reuseTable returns prev, the table of the same name the last translation built, when
// tbl equals it; otherwise tbl, with the virtual hosts that equal one of prev's replaced
// by prev's. A consumer can then tell what changed by comparing pointers. (Both lists of
// virtual hosts are sorted by name, and names are unique within a table.)
func reuseTable(tbl, prev *table.Table) *table.Table {
	if prev == nil {
		return tbl
	}
	same := len(tbl.VirtualHosts) == len(prev.VirtualHosts)
	j := 0
	for i, vh := range tbl.VirtualHosts {
		for j < len(prev.VirtualHosts) && prev.VirtualHosts[j].Name < vh.Name {
			j++
		}
		if j < len(prev.VirtualHosts) && sameVirtualHost(vh, prev.VirtualHosts[j]) {
			tbl.VirtualHosts[i] = prev.VirtualHosts[j]
			same = same && i == j
		} else {
			same = false
		}
	}
	if same && maps.Equal(tbl.Clusters, prev.Clusters) {
		return prev
	}
	return tbl
}

// sameVirtualHost reports whether two virtual hosts are equal, comparing their routes by
// pointer: a cached route is the same object while it is unchanged.
func sameVirtualHost(a, b *table.VirtualHost) bool {
	return a.Name == b.Name && slices.Equal(a.Domains, b.Domains) && slices.Equal(a.Routes, b.Routes) &&
		a.RequestHeaders == b.RequestHeaders && a.ResponseHeaders == b.ResponseHeaders
}

// shadows reports whether a domain without routes must still be in the table: when the
// nearest of its ancestors in the table has routes, which would otherwise answer the
// domain's requests. (Without it, or with only empty ancestors, the answer is a 404
// either way.)
func shadows(ancestors []string, served map[string]bool) bool {
	for _, a := range ancestors {
		if hasRoutes, ok := served[a]; ok {
			return hasRoutes
		}
	}
	return false
}

// labelDepth is how specific a domain is: the number of its ancestors.
func labelDepth(d string) int {
	if d == anyDomain {
		return 0
	}
	n := strings.Count(d, ".") + 1
	if isWildcard(d) {
		n-- // "*.b.c" is as deep as "b.c" plus its wildcard label
	}
	return n
}
