package httproute

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// Router serves a compiled route table. The table is read through an atomic pointer, so a
// request never waits for a recompile and a recompile never waits for requests: writers
// build a whole new compiled table and swap it in.
type Router struct {
	current atomic.Pointer[compiled]
}

// compiled is a table ready to serve: indexed, with its handlers provisioned.
type compiled struct {
	table   *table.Table
	hosts   hostIndex
	release func() // gives back the provisioned handlers; called once no longer served
}

// vhost is a compiled virtual host.
type vhost struct {
	name   string
	routes []*route
	paths  *pathIndex
}

// route is a compiled route: its matcher and the handler chain that serves it.
type route struct {
	name    string
	match   *matcher
	handler caddyhttp.Handler
}

// Table returns the table being served, or nil.
func (rt *Router) Table() *table.Table {
	if c := rt.current.Load(); c != nil {
		return c.table
	}
	return nil
}

// swap serves c from now on and releases what the previous table held.
func (rt *Router) swap(c *compiled) {
	if old := rt.current.Swap(c); old != nil && old.release != nil {
		old.release()
	}
}

// errNoRoute is returned (as a 404) when no route matches.
var errNoRoute = fmt.Errorf("no route matches the request")

// lookup finds the route that serves r, or nil.
func (c *compiled) lookup(r *http.Request) *route {
	vh := c.hosts.lookup(requestHost(r.Host))
	if vh == nil {
		return nil
	}
	q := request{r: r, path: r.URL.Path}
	var buf [16]int32
	cands := vh.paths.candidates(q.path, buf[:0])
	if len(cands) > 1 {
		slices.Sort(cands)
	}
	for _, i := range cands {
		if rt := vh.routes[i]; rt.match.matches(&q) {
			return rt
		}
	}
	return nil
}

// serve routes r. It returns errNoRoute, unwrapped, when nothing matches, so that callers
// can fall through.
func (rt *Router) serve(w http.ResponseWriter, r *http.Request) error {
	c := rt.current.Load()
	if c == nil {
		return errNoRoute
	}
	route := c.lookup(r)
	if route == nil {
		return errNoRoute
	}
	// The route's name is a request variable, for access logs and later handlers.
	caddyhttp.SetVar(r.Context(), RouteVar, route.name)
	return route.handler.ServeHTTP(w, r)
}

// RouteVar is the request variable ({http.vars.mesh_route}) that names the matched route.
const RouteVar = "mesh_route"

// tablesEqual reports whether two tables would serve alike, so that an unrelated change
// (a route of another Gateway, a status write) does not recompile. A translation with a
// cache hands back the same objects for what did not change, so the comparison is by
// pointer first and compares the content only of what differs; 10,000 routes of which
// one changed cost 10,000 pointer comparisons, not a deep walk of both tables.
func tablesEqual(a, b *table.Table) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Name != b.Name || len(a.VirtualHosts) != len(b.VirtualHosts) || len(a.Clusters) != len(b.Clusters) {
		return false
	}
	for i, va := range a.VirtualHosts {
		if !virtualHostsEqual(va, b.VirtualHosts[i]) {
			return false
		}
	}
	for name, ca := range a.Clusters {
		cb, ok := b.Clusters[name]
		if !ok || !clustersEqual(ca, cb) {
			return false
		}
	}
	return true
}

func virtualHostsEqual(a, b *table.VirtualHost) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Name != b.Name || !slices.Equal(a.Domains, b.Domains) || len(a.Routes) != len(b.Routes) ||
		!reflect.DeepEqual(a.RequestHeaders, b.RequestHeaders) || !reflect.DeepEqual(a.ResponseHeaders, b.ResponseHeaders) {
		return false
	}
	for i, ra := range a.Routes {
		if rb := b.Routes[i]; ra != rb && !reflect.DeepEqual(ra, rb) {
			return false
		}
	}
	return true
}
