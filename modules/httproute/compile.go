package httproute

import (
	"fmt"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"
	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// compiler turns tables into compiled tables. It is shared by every table a router (or a
// Gateway's ports) serves over time, so that unchanged clusters keep their proxies, and
// unchanged routes and virtual hosts their compiled form: compiling the next table after
// one route changed compiles that route and re-indexes the host names, nothing more.
type compiler struct {
	ctx     caddy.Context
	logger  *zap.Logger
	proxies *proxies
	mirrors *mirrorClient

	mu    sync.Mutex // guards the fields below, and the reference counts of the units
	units units
}

func newCompiler(ctx caddy.Context, endpoints *Endpoints, logger *zap.Logger) *compiler {
	return &compiler{ctx: ctx, logger: logger, proxies: newProxies(ctx, endpoints), mirrors: newMirrorClient(ctx),
		units: newUnits()}
}

// close releases every proxy, the extensions' modules and the mirrors' connections. It
// may be called more than once.
func (c *compiler) close() {
	c.mu.Lock()
	cancels := c.units.takeContexts()
	c.mu.Unlock()
	for _, cancel := range cancels {
		cancel()
	}
	c.proxies.closeAll()
	c.mirrors.close()
}

// compile builds a servable table. A route that cannot be compiled is served as a 500 and
// reported in the returned errors; nothing else is lost.
//
// Virtual hosts and routes the compiler has compiled for a table still served are taken
// over when they are the same objects (or, for a route, an equal one of the same name)
// and the clusters they use are defined alike, with the proxies they hold. The compiled
// table holds them until it is released, after the swap that replaces it: a reused route
// keeps its proxies across the swap, and a dropped one releases them then.
func (c *compiler) compile(t *table.Table) (*compiled, []error) {
	c.mu.Lock()
	b := &build{c: c, t: t, defs: make(map[*table.Cluster]string, len(t.Clusters))}
	for name, def := range t.Clusters {
		b.defs[def] = name
	}
	out := &compiled{table: t, hosts: newHostIndex(t)}
	hosts := make([]*hostUnit, 0, len(t.VirtualHosts))
	for _, v := range t.VirtualHosts {
		h := b.host(v)
		hosts = append(hosts, h)
		for _, d := range v.Domains {
			out.hosts.add(strings.ToLower(d), h.vh)
		}
	}
	c.mu.Unlock()
	var once sync.Once
	out.release = func() { once.Do(func() { c.release(hosts) }) }
	return out, b.errs
}

// newHostIndex is an empty index sized for t's domains.
func newHostIndex(t *table.Table) hostIndex {
	n := 0
	for _, v := range t.VirtualHosts {
		n += len(v.Domains)
	}
	return hostIndex{exact: make(map[string]*vhost, n), suffixes: map[string]*vhost{}}
}

// build is one compile's state.
type build struct {
	c *compiler
	t *table.Table
	// defs names the table's clusters by object, so that checking a reused route's
	// clusters is a pointer lookup when the translation kept them.
	defs map[*table.Cluster]string
	errs []error
}

// host returns the compiled virtual host of v, reused or built.
func (b *build) host(v *table.VirtualHost) *hostUnit {
	if h := b.c.units.hosts[v]; h != nil && b.hostFits(h) {
		h.refs++
		b.errs = append(b.errs, h.errs...)
		return h
	}
	h := &hostUnit{src: v, refs: 1, units: make([]*routeUnit, 0, len(v.Routes))}
	vh := &vhost{name: v.Name, routes: make([]*route, 0, len(v.Routes))}
	vhHeaders, err := headerHandler(b.c.ctx, v.RequestHeaders, v.ResponseHeaders)
	if err != nil {
		h.errs = append(h.errs, fmt.Errorf("virtual host %q: headers: %w", v.Name, err))
	}
	ops := hostOps{v.RequestHeaders, v.ResponseHeaders}
	matchers := make([]*matcher, len(v.Routes))
	for i, r := range v.Routes {
		u := b.route(r, ops, vhHeaders)
		h.units = append(h.units, u)
		if u.err != nil {
			h.errs = append(h.errs, fmt.Errorf("virtual host %q route %q: %w", v.Name, r.Name, u.err))
		}
		vh.routes = append(vh.routes, u.route)
		matchers[i] = u.route.match
	}
	vh.paths = buildPathIndex(matchers)
	h.vh = vh
	h.clusters = unionClusters(h.units)
	b.c.units.hosts[v] = h
	b.errs = append(b.errs, h.errs...)
	return h
}

// hostFits reports whether a compiled virtual host can serve in this table.
func (b *build) hostFits(h *hostUnit) bool { return b.fitsClusters(h.clusters) }

// fits reports whether a compiled route can serve in this table.
func (b *build) fits(u *routeUnit) bool { return b.fitsClusters(u.clusters) }

// fitsClusters reports whether every cluster a compiled route (or virtual host) holds a
// proxy or upstreams of is defined here as it was where it was compiled: the same
// object, as a cached translation keeps it, or an equal one.
func (b *build) fitsClusters(uses []clusterUse) bool {
	for _, cu := range uses {
		if name, ok := b.defs[cu.def]; ok && name == cu.name {
			continue
		}
		def := b.t.Clusters[cu.name]
		if def == nil || !clustersEqual(def, cu.def) {
			return false
		}
	}
	return true
}

// route returns the compiled route of r in a virtual host with header operations ops
// (provisioned as vhHeaders): a live one compiled from r (or from an equal route of the
// same name) with the same operations that fits this table, or a new one. The caller
// holds one reference to it.
func (b *build) route(r *table.Route, ops hostOps, vhHeaders *headers.Handler) *routeUnit {
	u := b.c.units.find(r, ops)
	if u != nil && b.fits(u) {
		u.refs++
		b.c.units.track(u, r, ops)
		return u
	}
	u = &routeUnit{src: r, ops: ops, name: r.Name, refs: 1}
	ub := &unitBuild{build: b, u: u, vhHeaders: vhHeaders}
	m, h, err := ub.route(r)
	if err != nil {
		b.c.logger.Error("route not compiled; it answers 500", zap.String("route", r.Name), zap.Error(err))
		h = failing{err: fmt.Errorf("route %q: %w", r.Name, err)}
		if m == nil {
			m = fallbackMatcher(r.Match)
		}
	}
	u.route = &route{name: r.Name, match: m, handler: h}
	u.err = err
	b.c.units.track(u, r, ops)
	return u
}

// fallbackMatcher is the matcher of a route whose match does not compile, which answers
// 500: it takes the requests of the route's path and method, whose other conditions are
// unknown (so the route fails closed where it might have matched, and leaves the other
// paths alone); a path that does not compile either matches every path.
func fallbackMatcher(m table.Match) *matcher {
	if out, err := compileMatch(table.Match{Path: m.Path, Method: m.Method}); err == nil {
		return out
	}
	return &matcher{method: m.Method}
}
