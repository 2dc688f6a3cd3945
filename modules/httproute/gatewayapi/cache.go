package gatewayapi

import (
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
)

// Cache is the memory Input.Cache carries from one translation to the next. A gateway
// translates everything again on every change, and with 10,000 HTTPRoutes compiling
// their rules, sorting them by precedence and assembling 1,000 virtual hosts is most of
// that work; the cache keeps what did not change, so that a change costs about what the
// changed routes cost. What it keeps is exactly what a translation without it would
// compute again: the results are equal.
//
// What is kept, and until when:
//
//   - A route's compiled rules, while the same *HTTPRoute comes back (collections hand
//     out the same pointer for an unchanged object) at the same resourceVersion and
//     generation, and none of the Services and HTTPFilters it looked up changed, nor the
//     ReferenceGrants if it made a cross-namespace reference. A route compiled again
//     keeps the table routes of its rules that come out equal.
//   - The Services' clusters, while the Service is unchanged.
//   - The precedence order of all table routes: routes that leave are taken out of it,
//     new ones merged in.
//   - The Gateways' validated listeners, while the classes, Gateways, Namespaces,
//     Secrets, ReferenceGrants and controller settings are the same; and with them
//     where each unchanged route attached, its statuses (restamped when the clock
//     moved), the routes each listener serves per domain, and the domains' route lists.
//   - The tables and virtual hosts, which come out as the same objects when equal.
type Cache struct {
	mu sync.Mutex // held for a whole translation

	// epoch numbers the translations, to mark what one of them used.
	epoch uint64
	// routes are the compiled routes by the object they were compiled from; a route
	// not compiled by the last translation is dropped.
	routes map[*gatewayv1.HTTPRoute]*compiledRoute
	// byName is the last compiled route of each name: what a changed route replaces.
	byName map[objectName]*compiledRoute

	// The referents as the last translation saw them. Holding the objects keeps their
	// addresses from being reused by new objects, which pointer comparison relies on.
	services map[string]*corev1.Service
	filters  map[string]*gatewayv1alpha1.HTTPFilter
	grants   map[*gatewayv1.ReferenceGrant]struct{}

	// clusters are the Service ports' clusters by name, kept while their Service is
	// unchanged, so that a reused route's clusters stay the same objects.
	clusters map[string]*clusterSlot
	// retired are the clusters of the Services that changed, for this translation only: a
	// cluster that comes out equal is the same object again.
	retired map[string]*clusterSlot
	// ranked are the table routes of the last translation's attached routes, in
	// precedence order: the next translation merges its new routes into them rather than
	// sorting everything again.
	ranked []*entry
	spare  []*entry // a buffer for the next merge
	// tables are the last translation's tables by name: a table, or a virtual host,
	// that comes out the same is the same object.
	tables map[string]*table.Table
	// domains are the route lists of the tables' domains, reused while the gateway
	// states are (see domainRoutes).
	domains map[string]map[string]*domainRoutes

	// gateways is the last translation's served Gateways with their validated listeners,
	// and what they were made from. While none of that changes, the next translation
	// takes them over, and with them where every unchanged route attached (its
	// placements, verdicts and statuses): attaching 10,000 routes again is skipped.
	gateways *gatewaySide
}

// gatewaySide is everything the served Gateways and their listeners are made from, and
// what was made.
type gatewaySide struct {
	controller gatewayv1.GatewayController
	classNames []string
	classes    map[*gatewayv1.GatewayClass]struct{}
	objects    map[*gatewayv1.Gateway]struct{}
	namespaces map[*corev1.Namespace]struct{}
	secrets    map[*corev1.Secret]struct{}

	states map[string]*gatewayState
	byName map[objectName]*gatewayState
}

// newGatewaySide records what the gateway states of in were made from.
func newGatewaySide(in *Input, controller gatewayv1.GatewayController) *gatewaySide {
	return &gatewaySide{
		controller: controller,
		classNames: slices.Clone(in.ClassNames),
		classes:    pointerSet(in.GatewayClasses),
		objects:    pointerSet(in.Gateways),
		namespaces: pointerSet(in.Namespaces),
		secrets:    pointerSet(in.Secrets),
	}
}

// same reports whether in would make the same gateway states.
func (s *gatewaySide) same(in *Input, controller gatewayv1.GatewayController) bool {
	return s.controller == controller && slices.Equal(s.classNames, in.ClassNames) &&
		samePointers(s.classes, in.GatewayClasses) && samePointers(s.objects, in.Gateways) &&
		samePointers(s.namespaces, in.Namespaces) && samePointers(s.secrets, in.Secrets)
}

func pointerSet[T any](objs []*T) map[*T]struct{} {
	out := make(map[*T]struct{}, len(objs))
	for _, o := range objs {
		if o != nil {
			out[o] = struct{}{}
		}
	}
	return out
}

// samePointers reports whether objs holds exactly the objects of set.
func samePointers[T any](set map[*T]struct{}, objs []*T) bool {
	n := 0
	for _, o := range objs {
		if o == nil {
			continue
		}
		if _, ok := set[o]; !ok {
			return false
		}
		n++
	}
	return n == len(set)
}

// NewCache returns an empty Cache. (The zero Cache is empty too.)
func NewCache() *Cache {
	c := &Cache{}
	c.clear()
	return c
}

// clear empties the cache (but for its mutex, which may be held, and its epoch, which
// keeps counting up).
func (c *Cache) clear() {
	c.routes = make(map[*gatewayv1.HTTPRoute]*compiledRoute)
	c.byName = make(map[objectName]*compiledRoute)
	c.services, c.filters, c.grants = nil, nil, nil
	c.clusters, c.retired = make(map[string]*clusterSlot), nil
	c.ranked, c.spare = nil, nil
	c.tables = make(map[string]*table.Table)
	c.domains = nil
	c.gateways = nil
}

// invalidation is what changed among a compiled route's referents since the last
// translation.
type invalidation struct {
	services map[string]struct{} // keys of Services added, changed or removed
	filters  map[string]struct{} // keys of HTTPFilters added, changed or removed
	grants   bool                // any ReferenceGrant added, changed or removed
}

// begin starts a translation: it works out which referents changed, drops the clusters
// of changed Services, and remembers the new referents.
func (c *Cache) begin(idx *index, grants []*gatewayv1.ReferenceGrant) invalidation {
	if c.routes == nil {
		c.clear()
	}
	c.epoch++
	inv := invalidation{
		services: changedKeys(c.services, idx.services),
		filters:  changedKeys(c.filters, idx.filters),
		grants:   grantsChanged(c.grants, grants),
	}
	c.retired = nil
	for name, slot := range c.clusters {
		if _, ok := inv.services[clusterService(name)]; ok {
			delete(c.clusters, name)
			if c.retired == nil {
				c.retired = make(map[string]*clusterSlot)
			}
			c.retired[name] = slot
		}
	}
	c.services, c.filters = idx.services, idx.filters
	if inv.grants {
		c.grants = pointerSet(grants)
	}
	return inv
}

// lookup returns the compiled form of route if the last translation compiled it and
// nothing it was compiled from changed.
func (c *Cache) lookup(route *gatewayv1.HTTPRoute, inv *invalidation) *compiledRoute {
	r := c.routes[route]
	if r == nil || r.resourceVersion != route.ResourceVersion || r.generation != route.Generation {
		return nil
	}
	if inv.grants && r.crossNamespace {
		return nil
	}
	if len(inv.services) > 0 {
		for _, k := range r.services {
			if _, ok := inv.services[k]; ok {
				return nil
			}
		}
	}
	if len(inv.filters) > 0 {
		for _, k := range r.filters {
			if _, ok := inv.filters[k]; ok {
				return nil
			}
		}
	}
	return r
}

// prune drops the compiled routes translation t did not use (their objects are gone),
// and takes them out of its ranking. Replaced routes left already; when no other is
// gone, the count says so without a walk.
func (c *Cache) prune(t *translation) {
	if len(c.routes) == t.used {
		return
	}
	for obj, r := range c.routes {
		if r.epoch == c.epoch {
			continue
		}
		delete(c.routes, obj)
		if name := (objectName{obj.Namespace, obj.Name}); c.byName[name] == r {
			delete(c.byName, name)
		}
		if r.ranked {
			t.drop(r)
		}
	}
}

// end keeps the translation's ranking and tables for the next.
func (c *Cache) end(ranked, spare []*entry, tables map[string]*table.Table, domains map[string]map[string]*domainRoutes) {
	c.ranked, c.spare = ranked, spare
	c.tables, c.domains = tables, domains
}

// changedKeys lists the keys whose object differs between two snapshots, nil when none.
func changedKeys[T any](old, cur map[string]*T) map[string]struct{} {
	var out map[string]struct{}
	add := func(k string) {
		if out == nil {
			out = make(map[string]struct{})
		}
		out[k] = struct{}{}
	}
	for k, v := range cur {
		if old[k] != v {
			add(k)
		}
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			add(k)
		}
	}
	return out
}

// grantsChanged reports whether the grants differ from the set seen last.
func grantsChanged(old map[*gatewayv1.ReferenceGrant]struct{}, cur []*gatewayv1.ReferenceGrant) bool {
	return !samePointers(old, cur)
}

// clusterService is the "namespace/name" of the Service a cluster (named by
// clusterName) belongs to.
func clusterService(cluster string) string {
	s := strings.TrimPrefix(cluster, "service/")
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return s
}
