package httproute

import (
	"reflect"
	"slices"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// The compiled pieces of tables, shared by the compiled tables that serve them. A
// translation that keeps unchanged routes and virtual hosts as the same objects (as
// gatewayapi's Cache does) lets the next compile take them over instead of compiling
// 10,000 routes again.
//
// Lifetimes are reference counts, guarded by compiler.mu: a compiled table holds one
// reference to each of its virtual hosts, a virtual host one to each of its routes, and a
// route its proxies (in proxies' own counts) and its extensions' context. A compile takes
// its references before the swap; the table it replaces gives its own back after, so what
// both serve is never released in between.

// routeUnit is a compiled route, as served by every virtual host that lists it with the
// same header operations (which its handler chain includes).
type routeUnit struct {
	src   *table.Route // the object it is filed under
	ops   hostOps
	name  string
	route *route // without the virtual host's header operations
	err   error  // why it answers 500, if it does

	// clusters are the cluster definitions its handlers were built from; keys the
	// proxies it acquired; cancel ends its extensions' context, if it has one.
	clusters []clusterUse
	keys     []proxyKey
	cancel   func()
	refs     int
}

// hostOps are a virtual host's header operations (none, in a Gateway's tables).
type hostOps struct{ req, resp *table.HeaderOps }

// equal reports whether two virtual hosts' operations are alike.
func (o hostOps) equal(p hostOps) bool {
	return o == p || (reflect.DeepEqual(o.req, p.req) && reflect.DeepEqual(o.resp, p.resp))
}

// unitKey files a compiled route: its route, in virtual hosts with those operations.
type unitKey struct {
	route *table.Route
	ops   hostOps
}

// clusterUse is a cluster a compiled route was built with.
type clusterUse struct {
	name string
	def  *table.Cluster
}

// hostUnit is a compiled virtual host: its routes (wrapped in its header operations) and
// their path index.
type hostUnit struct {
	src   *table.VirtualHost
	vh    *vhost
	units []*routeUnit // one reference each, in route order
	errs  []error      // its routes' compile errors, reported by every compile that uses it
	// clusters are its routes' clusters, each once: what a reuse checks.
	clusters []clusterUse
	refs     int
}

// unionClusters is the clusters the routes use, each once.
func unionClusters(us []*routeUnit) []clusterUse {
	var out []clusterUse
	for _, u := range us {
		for _, cu := range u.clusters {
			if !slices.Contains(out, cu) {
				out = append(out, cu)
			}
		}
	}
	return out
}

// units are the live compiled routes and virtual hosts of a compiler.
type units struct {
	// routes and hosts are filed by the object they were compiled from; named files
	// the routes by name too, for an equal route that comes back as a new object (a
	// translation without a cache).
	routes map[unitKey]*routeUnit
	named  map[string]*routeUnit
	hosts  map[*table.VirtualHost]*hostUnit
	// contexts are the routes with a context of their own, to end on close.
	contexts map[*routeUnit]struct{}
}

func newUnits() units {
	return units{
		routes:   make(map[unitKey]*routeUnit),
		named:    make(map[string]*routeUnit),
		hosts:    make(map[*table.VirtualHost]*hostUnit),
		contexts: make(map[*routeUnit]struct{}),
	}
}

// find returns the live compiled route of r for a virtual host with operations ops:
// compiled from r itself, or from an equal route of the same name.
func (us *units) find(r *table.Route, ops hostOps) *routeUnit {
	if u := us.routes[unitKey{r, ops}]; u != nil {
		return u
	}
	if r.Name == "" {
		return nil
	}
	if u := us.named[r.Name]; u != nil && u.ops.equal(ops) && reflect.DeepEqual(u.src, r) {
		return u
	}
	return nil
}

// track files u under r and ops, what it now serves (moving it from equal ones).
func (us *units) track(u *routeUnit, r *table.Route, ops hostOps) {
	if u.src != r || u.ops != ops {
		if k := (unitKey{u.src, u.ops}); us.routes[k] == u {
			delete(us.routes, k)
		}
		u.src, u.ops = r, ops
	}
	us.routes[unitKey{r, ops}] = u
	if u.name != "" {
		us.named[u.name] = u
	}
}

// drop forgets a route no virtual host holds any more.
func (us *units) drop(u *routeUnit) {
	if k := (unitKey{u.src, u.ops}); us.routes[k] == u {
		delete(us.routes, k)
	}
	if us.named[u.name] == u {
		delete(us.named, u.name)
	}
	delete(us.contexts, u)
}

// takeContexts returns the live routes' context cancellations, which they no longer hold.
func (us *units) takeContexts() []func() {
	var out []func()
	for u := range us.contexts {
		out = append(out, u.cancel)
		u.cancel = nil
	}
	clear(us.contexts)
	return out
}

// release gives back a compiled table's references to its virtual hosts, and frees what
// is no longer held: the proxies' references of the routes that were dropped, and their
// extensions' modules.
func (c *compiler) release(hosts []*hostUnit) {
	var dead []*routeUnit
	c.mu.Lock()
	for _, h := range hosts {
		if h.refs--; h.refs > 0 {
			continue
		}
		if c.units.hosts[h.src] == h {
			delete(c.units.hosts, h.src)
		}
		for _, u := range h.units {
			if u.refs--; u.refs == 0 {
				c.units.drop(u)
				dead = append(dead, u)
			}
		}
	}
	c.mu.Unlock()
	for _, u := range dead {
		for _, k := range u.keys {
			c.proxies.release(k)
		}
		if u.cancel != nil {
			u.cancel()
		}
	}
}

// clustersEqual reports whether two cluster definitions build the same proxies.
func clustersEqual(a, b *table.Cluster) bool {
	return a == b || reflect.DeepEqual(a, b)
}

// buildPathIndex indexes a virtual host's routes by path.
func buildPathIndex(ms []*matcher) *pathIndex {
	x := newPathIndex()
	for i, m := range ms {
		x.add(int32(i), m)
	}
	return x
}
