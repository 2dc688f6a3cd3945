package gatewayapi

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// buildGateway is the data plane of an accepted Gateway: one Port per port its
// programmed listeners use, sorted by number.
func buildGateway(g *gatewayState, clusters map[string]*table.Cluster) *Gateway {
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
		p.Table = buildTable(fmt.Sprintf("gateway %s:%d", g.key, port), listeners, clusters)
		out.Ports = append(out.Ports, p)
	}
	return out
}

// groupKey is the routes one listener serves for one domain.
type groupKey struct {
	listener int
	domain   string
}

// placed is one table route of a route attached to a listener, for one of its domains.
type placed struct {
	group groupKey
	entry *entry
}

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
//     group in Gateway API match precedence.
//
// A domain whose list comes out empty is kept when the less specific domain that would
// otherwise take its requests has routes (its requests must get a 404, not another
// listener's routes), and dropped otherwise. Domains with identical route lists share one
// virtual host.
func buildTable(name string, listeners []*listenerState, clusters map[string]*table.Cluster) *table.Table {
	t := &table.Table{Name: name}
	owners := make(map[string]int, len(listeners)) // listener hostname → listener
	domains := make(map[string]struct{})
	var items []placed
	for li, l := range listeners {
		owners[l.domain] = li
		domains[l.domain] = struct{}{}
		for _, a := range l.attachments {
			for _, d := range a.domains {
				domains[d] = struct{}{}
				for _, e := range a.route.entries {
					items = append(items, placed{group: groupKey{listener: li, domain: d}, entry: e})
				}
			}
		}
	}
	// Ranks are the global precedence order, so sorting by rank puts every group in
	// precedence order at once.
	slices.SortFunc(items, func(a, b placed) int {
		if c := cmp.Compare(a.entry.rank, b.entry.rank); c != 0 {
			return c
		}
		if c := cmp.Compare(a.group.listener, b.group.listener); c != 0 {
			return c
		}
		return cmp.Compare(a.group.domain, b.group.domain)
	})
	groups := make(map[groupKey][]*entry)
	for _, it := range items {
		groups[it.group] = append(groups[it.group], it.entry)
	}

	// Domains less specific first, so that a domain's ancestors are settled before it.
	sorted := make([]string, 0, len(domains))
	for d := range domains {
		sorted = append(sorted, d)
	}
	slices.SortFunc(sorted, func(a, b string) int {
		if c := cmp.Compare(labelDepth(a), labelDepth(b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})

	byRoutes := make(map[string]*table.VirtualHost)
	served := make(map[string]bool) // domains in the table: whether they have routes
	owned := make(map[*compiledRoute]struct{})
	seen := make(map[*entry]struct{})
	var idKey []byte
	for _, d := range sorted {
		chain := ancestors(d)
		owner, found := -1, false
		for _, a := range chain {
			if li, ok := owners[a]; ok {
				owner, found = li, true
				break
			}
		}
		if !found {
			continue
		}
		var routes []*table.Route
		idKey = idKey[:0]
		clear(seen)
		for _, a := range chain {
			for _, e := range groups[groupKey{listener: owner, domain: a}] {
				if _, dup := seen[e]; dup {
					continue // the route also serves a more specific domain of d
				}
				seen[e] = struct{}{}
				routes = append(routes, e.route)
				owned[e.owner] = struct{}{}
				idKey = strconv.AppendInt(idKey, int64(e.rank), 10)
				idKey = append(idKey, ',')
			}
		}
		if len(routes) == 0 && !shadows(chain[1:], served) {
			continue
		}
		served[d] = len(routes) > 0
		if vh, ok := byRoutes[string(idKey)]; ok {
			vh.Domains = append(vh.Domains, d)
			continue
		}
		vh := &table.VirtualHost{Domains: []string{d}, Routes: routes}
		byRoutes[string(idKey)] = vh
		t.VirtualHosts = append(t.VirtualHosts, vh)
	}
	for _, vh := range t.VirtualHosts {
		slices.Sort(vh.Domains)
		vh.Name = vh.Domains[0]
	}
	slices.SortFunc(t.VirtualHosts, func(a, b *table.VirtualHost) int { return cmp.Compare(a.Name, b.Name) })

	for r := range owned {
		for _, name := range r.clusters {
			if t.Clusters == nil {
				t.Clusters = make(map[string]*table.Cluster)
			}
			t.Clusters[name] = clusters[name]
		}
	}
	return t
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
