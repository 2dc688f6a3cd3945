package gatewayapi

import (
	"reflect"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// What a translation takes over from its Cache, and how it lets go of what changed.

// rerun repeats what the previous translation did with r, which it translated against
// the same gateway states: the same listeners, domains and verdicts, and the same
// statuses unless the clock moved (then they are stamped again).
func (t *translation) rerun(r *compiledRoute) {
	r.epoch = t.epoch
	t.used++
	for _, p := range r.placements {
		p.listener.attachedRoutes++
	}
	if r.statusesAt != t.in.Now.Time {
		statuses := make([]gatewayv1.RouteParentStatus, 0, len(r.verdicts))
		for _, v := range r.verdicts {
			statuses = append(statuses, t.routeParentStatus(r, v.gateway, v.ref, v.ok, v.reason, v.message))
		}
		r.statuses, r.statusesAt = statuses, t.in.Now.Time
	}
	t.result.RouteStatuses[r.key] = r.statuses
	if r.attachedIn == t.epoch-1 {
		r.attachedIn = t.epoch // and ranked, since last time
	}
}

// replace files r, just compiled from route, in the cache, in place of what the cache
// held for the route's name: that one leaves the ranking, and its table routes that r
// compiles to equal ones stay the same objects, so that a consumer comparing pointers
// recompiles only the rules that changed.
func (t *translation) replace(route *gatewayv1.HTTPRoute, r *compiledRoute) {
	name := objectName{route.Namespace, route.Name}
	if old := t.cache.byName[name]; old != nil && old.epoch != t.epoch {
		keepEqualRoutes(r, old)
		if t.cache.routes[old.route] == old {
			delete(t.cache.routes, old.route)
		}
		if old.ranked {
			t.drop(old)
		}
	}
	if prev := t.cache.routes[route]; prev != nil && prev.epoch != t.epoch && prev.ranked {
		t.drop(prev) // compiled from this object before, and filed under no name since
	}
	t.cache.routes[route] = r
	t.cache.byName[name] = r
}

// keepEqualRoutes makes r's table routes that equal old's (by name and content) old's
// objects.
func keepEqualRoutes(r, old *compiledRoute) {
	byName := make(map[string]*table.Route, len(old.entries))
	for _, e := range old.entries {
		byName[e.route.Name] = e.route
	}
	for _, e := range r.entries {
		if o := byName[e.route.Name]; o != nil && reflect.DeepEqual(o, e.route) {
			e.route = o
		}
	}
}

// drop takes a route that was attached last time, and is not now, out of the ranking.
func (t *translation) drop(r *compiledRoute) {
	r.ranked = false
	t.dropped = append(t.dropped, r)
}
