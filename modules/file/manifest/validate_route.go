package manifest

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// Validation of HTTPRoute and TLSRoute: the enums, limits and CEL rules of
// httproute_types.go, tlsroute_types.go and shared_types.go.

var (
	pathTypes   = []gatewayv1.PathMatchType{gatewayv1.PathMatchExact, gatewayv1.PathMatchPathPrefix, gatewayv1.PathMatchRegularExpression}
	headerTypes = []gatewayv1.HeaderMatchType{gatewayv1.HeaderMatchExact, gatewayv1.HeaderMatchRegularExpression}
	queryTypes  = []gatewayv1.QueryParamMatchType{gatewayv1.QueryParamMatchExact, gatewayv1.QueryParamMatchRegularExpression}
	methods     = []gatewayv1.HTTPMethod{gatewayv1.HTTPMethodGet, gatewayv1.HTTPMethodHead, gatewayv1.HTTPMethodPost,
		gatewayv1.HTTPMethodPut, gatewayv1.HTTPMethodDelete, gatewayv1.HTTPMethodConnect, gatewayv1.HTTPMethodOptions,
		gatewayv1.HTTPMethodTrace, gatewayv1.HTTPMethodPatch}

	// pathChars is the CEL rule on the characters of an Exact or PathPrefix path.
	pathChars = regexp.MustCompile(`^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$`)
	// pathForbidden are the CEL rules on substrings and suffixes of such a path, which
	// would make the match ambiguous after path normalisation.
	pathForbiddenParts    = []string{"//", "/./", "/../", "%2f", "%2F", "#"}
	pathForbiddenSuffixes = []string{"/..", "/."}
)

// maxRouteMatches is the CEL limit on the matches of all rules of one HTTPRoute.
const maxRouteMatches = 128

func prepareHTTPRoute(obj model.Object, _ string) field.ErrorList {
	r := obj.(*gatewayv1.HTTPRoute)
	defaultHTTPRoute(&r.Spec)
	return validateHTTPRouteSpec(&r.Spec, field.NewPath("spec"))
}

func validateHTTPRouteSpec(spec *gatewayv1.HTTPRouteSpec, path *field.Path) field.ErrorList {
	errs := validateParentRefs(spec.ParentRefs, path.Child("parentRefs"))
	errs = append(errs, gwHostnames(spec.Hostnames, 16, path.Child("hostnames"))...)
	rules := path.Child("rules")
	if len(spec.Rules) == 0 {
		// Only an explicitly empty list gets here: an absent one was defaulted.
		errs = append(errs, field.Required(rules, "must have at least 1 item; leave rules out to match every request"))
	}
	errs = append(errs, maxItems(len(spec.Rules), 16, rules)...)
	total := 0
	for i := range spec.Rules {
		total += len(spec.Rules[i].Matches)
		errs = append(errs, validateHTTPRouteRule(&spec.Rules[i], rules.Index(i))...)
	}
	if total > maxRouteMatches {
		errs = append(errs, field.Invalid(rules, total, "the total number of matches across all rules in a route must be at most 128"))
	}
	return errs
}

func validateHTTPRouteRule(rule *gatewayv1.HTTPRouteRule, path *field.Path) field.ErrorList {
	errs := gwSectionName(rule.Name, path.Child("name"))
	matches := path.Child("matches")
	errs = append(errs, maxItems(len(rule.Matches), 64, matches)...)
	for i := range rule.Matches {
		errs = append(errs, validateHTTPRouteMatch(&rule.Matches[i], matches.Index(i))...)
	}
	errs = append(errs, validateHTTPFilters(rule.Filters, rule.Matches, path.Child("filters"))...)
	backends := path.Child("backendRefs")
	errs = append(errs, maxItems(len(rule.BackendRefs), 16, backends)...)
	for i := range rule.BackendRefs {
		ref := &rule.BackendRefs[i]
		p := backends.Index(i)
		errs = append(errs, validateBackendRef(&ref.BackendRef, p)...)
		errs = append(errs, validateHTTPFilters(ref.Filters, rule.Matches, p.Child("filters"))...)
		if hasFilter(ref.Filters, gatewayv1.HTTPRouteFilterRequestRedirect) {
			errs = append(errs, field.Forbidden(p.Child("filters"), "RequestRedirect filter must not be used together with backendRefs"))
		}
	}
	if len(rule.BackendRefs) > 0 && hasFilter(rule.Filters, gatewayv1.HTTPRouteFilterRequestRedirect) {
		errs = append(errs, field.Forbidden(path.Child("filters"), "RequestRedirect filter must not be used together with backendRefs"))
	}
	if t := rule.Timeouts; t != nil {
		errs = append(errs, validateTimeouts(t, path.Child("timeouts"))...)
	}
	return errs
}

func validateHTTPRouteMatch(m *gatewayv1.HTTPRouteMatch, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.Path != nil {
		errs = append(errs, validatePathMatch(m.Path, path.Child("path"))...)
	}
	headers := path.Child("headers")
	errs = append(errs, maxItems(len(m.Headers), 16, headers)...)
	seen := map[gatewayv1.HTTPHeaderName]bool{}
	for i, h := range m.Headers {
		p := headers.Index(i)
		errs = append(errs, gwHeaderName(string(h.Name), p.Child("name"))...)
		errs = append(errs, requiredMaxLen(h.Value, 4096, p.Child("value"))...)
		if t := deref(h.Type); !slices.Contains(headerTypes, t) {
			errs = append(errs, field.NotSupported(p.Child("type"), t, headerTypes))
		}
		if seen[h.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), h.Name))
		}
		seen[h.Name] = true
	}
	params := path.Child("queryParams")
	errs = append(errs, maxItems(len(m.QueryParams), 16, params)...)
	seen = map[gatewayv1.HTTPHeaderName]bool{}
	for i, q := range m.QueryParams {
		p := params.Index(i)
		errs = append(errs, gwHeaderName(string(q.Name), p.Child("name"))...)
		errs = append(errs, requiredMaxLen(q.Value, 1024, p.Child("value"))...)
		if t := deref(q.Type); !slices.Contains(queryTypes, t) {
			errs = append(errs, field.NotSupported(p.Child("type"), t, queryTypes))
		}
		if seen[q.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), q.Name))
		}
		seen[q.Name] = true
	}
	if m.Method != nil && !slices.Contains(methods, *m.Method) {
		errs = append(errs, field.NotSupported(path.Child("method"), *m.Method, methods))
	}
	return errs
}

// validatePathMatch applies the CEL rules of HTTPPathMatch: an Exact or PathPrefix value is
// an absolute, normalised path, so that it matches the same requests in every proxy.
func validatePathMatch(m *gatewayv1.HTTPPathMatch, path *field.Path) field.ErrorList {
	t, v := deref(m.Type), deref(m.Value)
	if !slices.Contains(pathTypes, t) {
		return field.ErrorList{field.NotSupported(path.Child("type"), t, pathTypes)}
	}
	vp := path.Child("value")
	if len(v) > 1024 {
		return field.ErrorList{field.TooLong(vp, v, 1024)}
	}
	if t == gatewayv1.PathMatchRegularExpression {
		return nil // implementation-specific: checked by the consumer that compiles it
	}
	var errs field.ErrorList
	if !strings.HasPrefix(v, "/") {
		errs = append(errs, field.Invalid(vp, v, "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']"))
	}
	for _, part := range pathForbiddenParts {
		if strings.Contains(v, part) {
			errs = append(errs, field.Invalid(vp, v, "must not contain '"+part+"' when type one of ['Exact', 'PathPrefix']"))
		}
	}
	for _, suffix := range pathForbiddenSuffixes {
		if strings.HasSuffix(v, suffix) {
			errs = append(errs, field.Invalid(vp, v, "must not end with '"+suffix+"' when type one of ['Exact', 'PathPrefix']"))
		}
	}
	if !pathChars.MatchString(v) {
		errs = append(errs, field.Invalid(vp, v, "must only contain valid characters (matching "+pathChars.String()+") for types ['Exact', 'PathPrefix']"))
	}
	return errs
}

func validateTimeouts(t *gatewayv1.HTTPRouteTimeouts, path *field.Path) field.ErrorList {
	errs := gwDuration(t.Request, path.Child("request"))
	errs = append(errs, gwDuration(t.BackendRequest, path.Child("backendRequest"))...)
	if len(errs) > 0 || t.Request == nil || t.BackendRequest == nil {
		return errs
	}
	request, err1 := time.ParseDuration(string(*t.Request))
	backend, err2 := time.ParseDuration(string(*t.BackendRequest))
	if err1 == nil && err2 == nil && request != 0 && backend > request {
		errs = append(errs, field.Invalid(path.Child("backendRequest"), *t.BackendRequest, "backendRequest timeout cannot be longer than request timeout"))
	}
	return errs
}

func prepareTLSRoute(obj model.Object, version string) field.ErrorList {
	r := obj.(*gatewayv1.TLSRoute)
	defaultTLSRoute(&r.Spec)
	return validateTLSRouteSpec(&r.Spec, version, field.NewPath("spec"))
}

// validateTLSRouteSpec checks a TLSRoute. The v1 and v1alpha3 schemas require at least one
// hostname and exactly one rule; the deprecated v1alpha2 schema allows no hostnames and up
// to 16 rules, and documents written for it keep those rules.
func validateTLSRouteSpec(spec *gatewayv1.TLSRouteSpec, version string, path *field.Path) field.ErrorList {
	legacy := version == gatewayV1alpha2
	errs := validateParentRefs(spec.ParentRefs, path.Child("parentRefs"))
	hosts := path.Child("hostnames")
	if legacy {
		errs = append(errs, gwHostnames(spec.Hostnames, 16, hosts)...)
	} else {
		errs = append(errs, itemCount(len(spec.Hostnames), 1, 1024, hosts)...)
		errs = append(errs, gwHostnames(spec.Hostnames, 1024, hosts)...)
	}
	for i, h := range spec.Hostnames {
		if _, err := netip.ParseAddr(string(h)); err == nil {
			errs = append(errs, field.Invalid(hosts.Index(i), h, "hostnames cannot contain an IP"))
		}
	}
	maxRules := 1
	if legacy {
		maxRules = 16
	}
	rules := path.Child("rules")
	errs = append(errs, itemCount(len(spec.Rules), 1, maxRules, rules)...)
	for i, rule := range spec.Rules {
		p := rules.Index(i)
		errs = append(errs, gwSectionName(rule.Name, p.Child("name"))...)
		errs = append(errs, itemCount(len(rule.BackendRefs), 1, 16, p.Child("backendRefs"))...)
		for j := range rule.BackendRefs {
			errs = append(errs, validateBackendRef(&rule.BackendRefs[j], p.Child("backendRefs").Index(j))...)
		}
	}
	return errs
}
