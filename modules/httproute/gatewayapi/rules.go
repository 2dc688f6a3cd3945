package gatewayapi

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// compiler compiles HTTPRoutes into table routes. A route compiles the same way whatever
// Gateway or listener it attaches to, so it is compiled once and its table routes are
// shared by every virtual host that serves it.
type compiler struct {
	idx *index
	// clusters are the clusters resolved so far, by name: a Service port's cluster is
	// built once however many routes send to it (and, with a Cache, kept across
	// translations).
	clusters map[string]*clusterSlot
	// retired are the clusters of changed Services (with a Cache), to reuse when equal.
	retired map[string]*clusterSlot
	// cur is the route being compiled, which records what it looks up.
	cur *compiledRoute
}

// compiledRoute is an HTTPRoute's rules as table routes, with what went wrong. Once
// compiled it does not change, so that a Cache can hand it to later translations; the
// fields at the end are the current translation's.
type compiledRoute struct {
	route     *gatewayv1.HTTPRoute
	key       string   // "namespace/name"
	hostnames []string // lowercase
	// entries are the table routes, one per match of each served rule, in rule and
	// match order.
	entries []*entry
	// clusters are the clusters the entries use.
	clusters []*clusterSlot

	// refs are the references that do not resolve (ResolvedRefs); dropped are the rules
	// that cannot be served (Accepted, or PartiallyInvalid when some rules remain).
	refs    problems[gatewayv1.RouteConditionReason]
	dropped problems[gatewayv1.RouteConditionReason]
	// served counts the rules that are served.
	served int

	// What the compiled form depends on besides the object: the object's version, the
	// keys of the Services and HTTPFilters looked up (found or not), and whether a
	// reference crossed namespaces (and so depended on ReferenceGrants).
	resourceVersion string
	generation      int64
	services        []string
	filters         []string
	crossNamespace  bool

	// epoch is the last translation that used the route; attachedIn the last one that
	// attached it somewhere, at placements. ranked says whether its entries are in the
	// translation's precedence order (with a Cache, the order carried over).
	epoch      uint64
	attachedIn uint64
	placements []placement
	groupBuf   []*group // the placements' groups
	ranked     bool

	// domainsOn's memory: the domains of the last listener hostname asked.
	domainsListener string
	domainsMemo     []string
	// statusRefs are the parentRefs as statuses echo them, made once.
	statusRefs []gatewayv1.ParentReference
	// verdicts are the last translation's verdicts on the route's parents, and statuses
	// the statuses written from them at statusesAt, for a translation against the same
	// gateway states.
	verdicts   []parentVerdict
	statuses   []gatewayv1.RouteParentStatus
	statusesAt time.Time
}

// parentVerdict is the outcome of attaching a route through its ref-th parentRef.
type parentVerdict struct {
	ref     int
	gateway *gatewayState
	ok      bool
	reason  gatewayv1.RouteConditionReason
	message string
}

// placement is where a route is attached in the current translation: a listener and its
// groups for the domains the route serves there.
type placement struct {
	listener *listenerState
	groups   []*group
}

// entry is one table route with its precedence. seen marks the domain being assembled
// that already lists it; id is unique among all entries, for comparing route lists.
type entry struct {
	route *table.Route
	prec  precedence
	owner *compiledRoute
	seen  uint64
	id    uint64
}

// use records that r sends to the named cluster, once.
func (c *compiler) use(r *compiledRoute, name string) {
	s := c.clusters[name]
	if !slices.Contains(r.clusters, s) {
		r.clusters = append(r.clusters, s)
	}
}

// clusterSlot is a resolved cluster. mark is the table being assembled that lists it
// already, so that 10,000 routes to 100 clusters make 100 map writes, not 10,000.
type clusterSlot struct {
	name    string
	cluster *table.Cluster
	mark    uint64
	used    uint64 // the same for the domain being assembled
}

// defaultRules is what the CRD defaults an HTTPRoute without rules to: one rule matching
// every request, with no backends (so answered 500).
var defaultRules = []gatewayv1.HTTPRouteRule{{}}

// compile compiles every rule of route.
func (c *compiler) compile(route *gatewayv1.HTTPRoute) *compiledRoute {
	r := &compiledRoute{route: route, key: key(route.Namespace, route.Name),
		resourceVersion: route.ResourceVersion, generation: route.Generation}
	c.cur = r
	defer func() { c.cur = nil }()
	for _, h := range route.Spec.Hostnames {
		r.hostnames = append(r.hostnames, strings.ToLower(string(h)))
	}
	rules := route.Spec.Rules
	if len(rules) == 0 {
		rules = defaultRules
	}
	for i := range rules {
		label := ruleLabel(i, rules[i].Name)
		var refs []refProblem
		if err := c.compileRule(r, i, label, &rules[i], &refs); err != nil {
			r.dropped.add(err.reason, "%s: %s", label, err.message)
			continue
		}
		r.served++
		for _, p := range refs {
			r.refs.add(p.reason, "%s: %s", label, p.message)
		}
	}
	return r
}

// ruleLabel names a rule in route names and messages: "rule <name>" for a named rule,
// else "rule <index>".
func ruleLabel(i int, name *gatewayv1.SectionName) string {
	if name != nil && *name != "" {
		return "rule " + string(*name)
	}
	return "rule " + strconv.Itoa(i)
}

// compileRule compiles one rule into one table route per match, all sharing the rule's
// filters and action. It returns why the rule cannot be served; references that do not
// resolve are appended to refs and leave the rule served (answering 500 where they are
// used).
func (c *compiler) compileRule(r *compiledRoute, i int, label string, rule *gatewayv1.HTTPRouteRule, refs *[]refProblem) *ruleError {
	matches := rule.Matches
	if len(matches) == 0 {
		matches = []gatewayv1.HTTPRouteMatch{{}}
	}
	converted := make([]table.Match, len(matches))
	precs := make([]precedence, len(matches))
	for j := range matches {
		m, p, err := convertMatch(&matches[j])
		if err != nil {
			return unsupported("matches[%d]: %v", j, err)
		}
		converted[j], precs[j] = m, p
	}
	filters, ferr := c.convertFilters(r.route.Namespace, rule.Filters, refs)
	if ferr != nil {
		return ferr
	}
	if filters.prefixReplacement() {
		for j := range converted {
			if converted[j].Path.Kind != table.PathSegmentPrefix {
				return unsupported("matches[%d]: ReplacePrefixMatch needs PathPrefix matches", j)
			}
		}
	}
	action := &table.Route{
		RequestHeaders:  filters.requestHeaders,
		ResponseHeaders: filters.responseHeaders,
		CORS:            filters.cors,
		Extensions:      filters.extensions,
	}
	switch {
	case filters.broken:
		// An ExtensionRef that does not resolve must not be skipped: answer 500.
		action.Extensions = nil
		action.DirectResponse = &table.DirectResponse{Status: http.StatusInternalServerError}
	case filters.redirect != nil:
		action.Redirect = filters.redirect
	case len(rule.BackendRefs) > 0:
		fwd, err := c.convertForward(r, rule, filters, refs)
		if err != nil {
			return err
		}
		if fwd == nil {
			action.DirectResponse = &table.DirectResponse{Status: http.StatusInternalServerError}
		} else {
			action.Forward = fwd
			action.Mirrors = c.convertMirrors(r, filters.mirrors, refs)
		}
	default:
		// No backends and nothing else to answer with: the spec asks for a 500.
		action.DirectResponse = &table.DirectResponse{Status: http.StatusInternalServerError}
	}
	for j := range converted {
		rt := *action
		rt.Name = "httproute " + r.key + " " + label + " match " + strconv.Itoa(j)
		rt.Match = converted[j]
		prec := precs[j]
		prec.created = r.route.CreationTimestamp.Time
		prec.route = r.key
		prec.rule, prec.match = i, j
		r.entries = append(r.entries, &entry{route: &rt, prec: prec, owner: r, id: marks.Add(1)})
	}
	return nil
}

// convertForward builds a rule's Forward action: its backends, URL rewrite, timeouts and
// retries. It returns nil when every backend has weight 0, as no request can be sent
// anywhere then.
func (c *compiler) convertForward(r *compiledRoute, rule *gatewayv1.HTTPRouteRule, filters *ruleFilters, refs *[]refProblem) (*table.Forward, *ruleError) {
	fwd := &table.Forward{Rewrite: filters.rewrite}
	if t := rule.Timeouts; t != nil {
		var err error
		if t.Request != nil {
			if fwd.Timeout, err = parseDuration(*t.Request); err != nil {
				return nil, unsupported("timeouts.request: %v", err)
			}
		}
		if t.BackendRequest != nil {
			if fwd.BackendTimeout, err = parseDuration(*t.BackendRequest); err != nil {
				return nil, unsupported("timeouts.backendRequest: %v", err)
			}
		}
		if fwd.Timeout > 0 && fwd.BackendTimeout > fwd.Timeout {
			return nil, unsupported("timeouts.backendRequest %s is longer than timeouts.request %s", *t.BackendRequest, *t.Request)
		}
	}
	retry, err := convertRetry(rule.Retry)
	if err != nil {
		return nil, err
	}
	fwd.Retry = retry
	backends, err := c.convertBackends(r, rule.BackendRefs, refs)
	if err != nil {
		return nil, err
	}
	fwd.Backends = backends
	var total uint64
	for _, b := range backends {
		total += uint64(b.Weight)
	}
	if total == 0 {
		return nil, nil
	}
	return fwd, nil
}

// convertRetry converts a rule's retry policy: the listed status codes, and (as the spec
// recommends) connection errors. Attempts defaults to one retry; zero attempts is no
// retry. Backoff is checked but has no place in the table yet.
func convertRetry(r *gatewayv1.HTTPRouteRetry) (*table.Retry, *ruleError) {
	if r == nil {
		return nil, nil
	}
	if r.Backoff != nil {
		if _, err := parseDuration(*r.Backoff); err != nil {
			return nil, unsupported("retry.backoff: %v", err)
		}
	}
	attempts := 1
	if r.Attempts != nil {
		attempts = *r.Attempts
	}
	if attempts < 0 {
		return nil, unsupported("retry.attempts %d is negative", attempts)
	}
	if attempts == 0 {
		return nil, nil
	}
	out := &table.Retry{On: []string{"connect-failure", "refused-stream", "reset"}, NumRetries: attempts}
	for _, code := range r.Codes {
		if code < 400 || code > 599 {
			return nil, unsupported("retry.codes: %d is not an HTTP error status", code)
		}
		out.StatusCodes = append(out.StatusCodes, int(code))
	}
	if len(out.StatusCodes) > 0 {
		out.On = append(out.On, "retriable-status-codes")
	}
	return out, nil
}

// durationPattern is GEP-2257's Gateway API duration: up to four number-unit pairs.
var durationPattern = regexp.MustCompile(`^([0-9]{1,5}(h|m|s|ms)){1,4}$`)

// parseDuration parses a Gateway API duration; "0s" is zero, which the table reads as
// no timeout, as the spec asks.
func parseDuration(d gatewayv1.Duration) (time.Duration, error) {
	if !durationPattern.MatchString(string(d)) {
		return 0, fmt.Errorf("%q is not a Gateway API duration (such as 500ms, 10s or 1h30m)", d)
	}
	return time.ParseDuration(string(d))
}
