package gatewayapi

import (
	"fmt"
	"regexp"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// knownMethods are the methods an HTTPRouteMatch may name; any other is an unsupported
// value, as the spec asks for unknown enum values.
var knownMethods = map[gatewayv1.HTTPMethod]bool{
	gatewayv1.HTTPMethodGet: true, gatewayv1.HTTPMethodHead: true, gatewayv1.HTTPMethodPost: true,
	gatewayv1.HTTPMethodPut: true, gatewayv1.HTTPMethodDelete: true, gatewayv1.HTTPMethodConnect: true,
	gatewayv1.HTTPMethodOptions: true, gatewayv1.HTTPMethodTrace: true, gatewayv1.HTTPMethodPatch: true,
}

// convertMatch turns an HTTPRouteMatch into a table match and the parts of its
// precedence that depend on the match. An error means the match (and so its rule) cannot
// be served: an unknown match type, a path that is not absolute, or a regular expression
// RE2 does not accept.
func convertMatch(m *gatewayv1.HTTPRouteMatch) (table.Match, precedence, error) {
	var out table.Match
	var prec precedence

	pathType, value := gatewayv1.PathMatchPathPrefix, "/"
	if m.Path != nil {
		if m.Path.Type != nil {
			pathType = *m.Path.Type
		}
		if m.Path.Value != nil {
			value = *m.Path.Value
		}
	}
	prec.pathLen = len(value)
	switch pathType {
	case gatewayv1.PathMatchExact:
		if !strings.HasPrefix(value, "/") {
			return out, prec, fmt.Errorf("path %q must start with /", value)
		}
		prec.pathRank = rankExact
		out.Path = &table.PathMatch{Kind: table.PathExact, Value: value}
	case gatewayv1.PathMatchPathPrefix:
		if !strings.HasPrefix(value, "/") {
			return out, prec, fmt.Errorf("path prefix %q must start with /", value)
		}
		prec.pathRank = rankPrefix
		out.Path = &table.PathMatch{Kind: table.PathSegmentPrefix, Value: value}
	case gatewayv1.PathMatchRegularExpression:
		if _, err := regexp.Compile(value); err != nil {
			return out, prec, fmt.Errorf("path regular expression %q: %w", value, err)
		}
		prec.pathRank = rankRegex
		out.Path = &table.PathMatch{Kind: table.PathRegex, Value: value}
	default:
		return out, prec, fmt.Errorf("path match type %q is not supported", pathType)
	}

	if m.Method != nil {
		if !knownMethods[*m.Method] {
			return out, prec, fmt.Errorf("method %q is not supported", *m.Method)
		}
		out.Method = string(*m.Method)
		prec.method = true
	}

	for _, h := range m.Headers {
		// Header names are case-insensitive; only the first match of a name counts.
		if containsFold(out.Headers, string(h.Name)) {
			continue
		}
		kind, err := stringKind(h.Type, h.Value)
		if err != nil {
			return out, prec, fmt.Errorf("header %q: %w", h.Name, err)
		}
		out.Headers = append(out.Headers, table.StringMatch{Name: string(h.Name), Kind: kind, Value: h.Value})
	}
	prec.headers = len(out.Headers)

	for _, q := range m.QueryParams {
		// Query parameter names are exact; only the first match of a name counts.
		if containsExact(out.Query, string(q.Name)) {
			continue
		}
		kind, err := stringKind((*gatewayv1.HeaderMatchType)(q.Type), q.Value)
		if err != nil {
			return out, prec, fmt.Errorf("query parameter %q: %w", q.Name, err)
		}
		out.Query = append(out.Query, table.StringMatch{Name: string(q.Name), Kind: kind, Value: q.Value})
	}
	prec.queries = len(out.Query)
	return out, prec, nil
}

// stringKind maps a header or query match type (nil is Exact) to the table's kind.
func stringKind(t *gatewayv1.HeaderMatchType, value string) (table.StringKind, error) {
	if t == nil || *t == gatewayv1.HeaderMatchExact {
		return table.StringExact, nil
	}
	if *t != gatewayv1.HeaderMatchRegularExpression {
		return "", fmt.Errorf("match type %q is not supported", *t)
	}
	if _, err := regexp.Compile(value); err != nil {
		return "", fmt.Errorf("regular expression %q: %w", value, err)
	}
	return table.StringRegex, nil
}

func containsFold(ms []table.StringMatch, name string) bool {
	for _, m := range ms {
		if strings.EqualFold(m.Name, name) {
			return true
		}
	}
	return false
}

func containsExact(ms []table.StringMatch, name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return true
		}
	}
	return false
}
