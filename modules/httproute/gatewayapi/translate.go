package gatewayapi

import (
	"cmp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// translation is one run of Translate.
type translation struct {
	in         *Input
	controller gatewayv1.GatewayController
	idx        *index
	compiler   compiler
	// cache is the Input's Cache (nil without one); inv is what changed since its last
	// translation, and epoch numbers this one (1 without a Cache). kept says whether
	// the last translation's gateway states are taken over.
	cache *Cache
	inv   invalidation
	epoch uint64
	kept  bool
	// used counts the compiled routes this translation took from or put in the cache.
	used int
	// gateways are the served Gateways by "namespace/name", and by namespace and name.
	gateways map[string]*gatewayState
	byName   map[objectName]*gatewayState
	// attachedConditions are the conditions routes attached without a problem share.
	attachedConditions map[attachedKey][]metav1.Condition
	// ranked are the table routes of the routes attached to at least one listener, in
	// precedence order: the last translation's without those of dropped, with those of
	// fresh (attached now, not then).
	ranked  []*entry
	dropped []*compiledRoute
	fresh   []*compiledRoute
	// spare is a list as long as ranked can be, for the next translation's merge.
	spare []*entry
	// tables are the tables built, by name, and domains their domains' route lists,
	// kept by the cache for the next translation.
	tables  map[string]*table.Table
	domains map[string]map[string]*domainRoutes
	result  *Result
}

// Translate computes the data plane and the statuses for the Gateways of the
// GatewayClasses this controller serves. It is a pure function of its input: equal
// inputs, in any order, give equal results (with or without a Cache).
//
// The steps: pick the served classes; validate each of their Gateways' listeners; compile
// every HTTPRoute that names one of those Gateways and attach it to the listeners that
// admit it; order all compiled matches by Gateway API precedence once, and file them
// under the listeners and domains that serve them; then assemble, for every accepted
// Gateway, one route table per port, and write the statuses.
func Translate(in Input) *Result {
	if c := in.Cache; c != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		defer func() {
			if v := recover(); v != nil {
				c.clear() // half a translation's state must not be built on
				panic(v)
			}
		}()
	}
	t := newTranslation(&in)
	classes, classStatuses := servedClasses(&in, t.controller)
	t.result.GatewayClassStatuses = classStatuses
	if !t.kept {
		for _, gw := range sortedByKey(in.Gateways) {
			if _, ok := classes[string(gw.Spec.GatewayClassName)]; ok {
				g := newGatewayState(gw, t.idx)
				t.gateways[g.key] = g
				t.byName[objectName{gw.Namespace, gw.Name}] = g
			}
		}
		if t.cache != nil {
			side := newGatewaySide(&in, t.controller)
			side.states, side.byName = t.gateways, t.byName
			t.cache.gateways = side
		}
	}
	// Routes are translated in the input's order: nothing below depends on it, as every
	// list built from them is sorted by a total order (precedence, names) later.
	for _, route := range in.HTTPRoutes {
		if route != nil {
			t.route(route)
		}
	}
	if t.cache != nil {
		t.cache.prune(t)
	}
	t.rank()
	t.place()

	keys := make([]string, 0, len(t.gateways))
	for k := range t.gateways {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		g := t.gateways[k]
		status, accepted := t.gatewayStatus(g)
		t.result.GatewayStatuses[k] = status
		if accepted {
			t.result.Gateways = append(t.result.Gateways, t.buildGateway(g))
		}
	}
	if t.cache != nil {
		t.cache.end(t.ranked, t.spare, t.tables, t.domains)
	}
	return t.result
}

func newTranslation(in *Input) *translation {
	t := &translation{
		in:         in,
		controller: in.ControllerName,
		cache:      in.Cache,
		epoch:      1,
		gateways:   make(map[string]*gatewayState),
		byName:     make(map[objectName]*gatewayState),

		attachedConditions: make(map[attachedKey][]metav1.Condition),
		tables:             make(map[string]*table.Table),
		domains:            make(map[string]map[string]*domainRoutes),
		result: &Result{
			GatewayStatuses: make(map[string]gatewayv1.GatewayStatus),
			RouteStatuses:   make(map[string][]gatewayv1.RouteParentStatus, len(in.HTTPRoutes)),
		},
	}
	if t.controller == "" {
		t.controller = ControllerName
	}
	t.idx = newIndex(in)
	t.compiler = compiler{idx: t.idx, clusters: make(map[string]*clusterSlot)}
	if t.cache != nil {
		t.inv = t.cache.begin(t.idx, in.ReferenceGrants)
		t.epoch = t.cache.epoch
		t.compiler.clusters, t.compiler.retired = t.cache.clusters, t.cache.retired
		if side := t.cache.gateways; side != nil && !t.inv.grants && side.same(in, t.controller) {
			t.kept = true
			t.gateways, t.byName = side.states, side.byName
			for _, g := range t.gateways {
				g.reset()
			}
		}
	}
	return t
}

// route compiles and attaches one HTTPRoute, if it names one of the served Gateways, and
// writes its parent statuses. A route that names none of them but still carries a status
// entry of this controller gets an empty list, which removes that entry.
func (t *translation) route(route *gatewayv1.HTTPRoute) {
	if t.kept {
		if r := t.cache.lookup(route, &t.inv); r != nil && r.epoch == t.epoch-1 {
			t.rerun(r)
			return
		}
	}
	var r *compiledRoute
	statuses := []gatewayv1.RouteParentStatus{}
	refs := route.Spec.ParentRefs
	attached := false
	for i := range refs {
		ref := &refs[i]
		g := t.parentGateway(route.Namespace, ref)
		if g == nil || repeatsParent(route.Namespace, refs[:i], ref) {
			continue
		}
		if r == nil {
			if r = t.compile(route); r == nil {
				return // the same object given twice: translated already
			}
			statuses = make([]gatewayv1.RouteParentStatus, 0, len(refs)-i)
			r.verdicts = r.verdicts[:0]
		}
		ok, reason, message := t.attach(r, g, ref)
		attached = attached || ok
		r.verdicts = append(r.verdicts, parentVerdict{ref: i, gateway: g, ok: ok, reason: reason, message: message})
		statuses = append(statuses, t.routeParentStatus(r, g, i, ok, reason, message))
	}
	if r == nil {
		if !t.hasOurStatus(route) {
			return
		}
		t.result.RouteStatuses[key(route.Namespace, route.Name)] = statuses
		return
	}
	r.statuses, r.statusesAt = statuses, t.in.Now.Time
	t.result.RouteStatuses[r.key] = statuses
	switch {
	case attached:
		r.attachedIn = t.epoch
		if !r.ranked {
			t.fresh = append(t.fresh, r)
		}
	case r.ranked:
		t.drop(r)
	}
}

// repeatsParent reports whether ref names the same parent as one of the refs before it
// (which then has the status entry). Routes rarely have more than a couple of
// parentRefs, so comparing keys beats a map.
func repeatsParent(namespace string, before []gatewayv1.ParentReference, ref *gatewayv1.ParentReference) bool {
	if len(before) == 0 {
		return false
	}
	k := parentKey(namespace, ref)
	for i := range before {
		if parentKey(namespace, &before[i]) == k {
			return true
		}
	}
	return false
}

// compile returns route's compiled form: the cached one when it is still good, else a
// new one (which the cache keeps). It returns nil when this translation has already
// compiled the same object.
func (t *translation) compile(route *gatewayv1.HTTPRoute) *compiledRoute {
	var r *compiledRoute
	if t.cache != nil {
		if r = t.cache.lookup(route, &t.inv); r != nil && r.epoch == t.epoch {
			return nil
		}
	}
	if r == nil {
		r = t.compiler.compile(route)
		if t.cache != nil {
			t.replace(route, r)
		}
	}
	r.epoch = t.epoch
	r.placements, r.groupBuf = r.placements[:0], r.groupBuf[:0]
	t.used++
	return r
}

// hasOurStatus reports whether a route's status has an entry this controller wrote.
func (t *translation) hasOurStatus(route *gatewayv1.HTTPRoute) bool {
	for _, p := range route.Status.Parents {
		if p.ControllerName == t.controller {
			return true
		}
	}
	return false
}

// sortedByKey returns the non-nil objects sorted by "namespace/name", so that the result
// does not depend on the input's order.
func sortedByKey[T any, P interface {
	*T
	GetNamespace() string
	GetName() string
}](objs []P) []P {
	out := make([]P, 0, len(objs))
	for _, o := range objs {
		if o != nil {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b P) int {
		if c := strings.Compare(a.GetNamespace(), b.GetNamespace()); c != 0 {
			return c
		}
		return cmp.Compare(a.GetName(), b.GetName())
	})
	return out
}
