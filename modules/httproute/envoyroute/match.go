package envoyroute

import (
	"errors"
	"fmt"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// grpcContentType is the content-type a RouteMatch's grpc field checks, as Envoy does:
// "application/grpc" alone or followed by "+" and a codec ("application/grpc+proto"), but
// not "application/grpc-web".
const grpcContentType = `application/grpc(\+.*)?`

// translateMatch translates a route's match from its view (which flattens the proto's
// current and deprecated matcher fields) and its proto (for the fields the view leaves out).
func translateMatch(m *resource.RouteMatch, pb *routev3.RouteMatch) (table.Match, error) {
	var out table.Match
	if err := routeMatchFields.check("match", pb); err != nil {
		return out, err
	}
	path, err := pathMatch(m)
	if err != nil {
		return out, err
	}
	out.Path = path
	for i := range m.Headers {
		if err := headerMatch(&out, &m.Headers[i]); err != nil {
			return out, fmt.Errorf("match.headers[%d]: %w", i, err)
		}
	}
	if m.GRPC {
		out.Headers = append(out.Headers, table.StringMatch{Name: "content-type", Kind: table.StringRegex, Value: grpcContentType})
	}
	for i := range m.QueryParameters {
		q, err := queryMatch(&m.QueryParameters[i])
		if err != nil {
			return out, fmt.Errorf("match.query_parameters[%d]: %w", i, err)
		}
		out.Query = append(out.Query, q)
	}
	if rf := pb.GetRuntimeFraction(); rf != nil {
		f, err := runtimeFraction("match.runtime_fraction", rf)
		if err != nil {
			return out, err
		}
		out.Fraction = f
	}
	return out, nil
}

// pathMatch translates the path specifier. Envoy's case_sensitive applies to prefix, path
// and separated-prefix matches and has no effect on a regular expression; so here.
func pathMatch(m *resource.RouteMatch) (*table.PathMatch, error) {
	p := &table.PathMatch{Value: m.Path, IgnoreCase: !m.CaseSensitive}
	switch m.Kind {
	case resource.PathPrefix:
		p.Kind = table.PathPrefix
	case resource.PathExact:
		p.Kind = table.PathExact
	case resource.PathSeparatedPrefix:
		p.Kind = table.PathSegmentPrefix
	case resource.PathSafeRegex:
		p.Kind, p.IgnoreCase = table.PathRegex, false
	default:
		return nil, fmt.Errorf("match: path match %v is not supported", m.Kind)
	}
	return p, nil
}

// headerMatch adds one header condition to out.
//
// A missing header is where Envoy and the table differ. In Envoy only a presence match can
// hold for a missing header: a value match does not, inverted or not (unless
// treat_missing_header_as_empty reads it as ""). In the table an inverted value match
// holds for a missing header. So an inverted value match is preceded by a presence match
// on the same header, which makes the pair hold exactly when Envoy's matcher does. With
// treat_missing_header_as_empty, a missing header is compared as "", which the table
// cannot do; it only matters when the matcher accepts "", and only that case is an error.
//
// Envoy's ignore_case has no effect on a regular expression, so it is dropped there.
// Pseudo-headers are not headers in the runtime's request, so ":method" becomes the
// table's Method (an exact, case-sensitive, non-inverted match is the only one it can
// express) and the others are errors.
func headerMatch(out *table.Match, h *resource.HeaderMatcher) error {
	if strings.HasPrefix(h.Name, ":") {
		if h.TreatMissingAsEmpty {
			return errors.New("treat_missing_header_as_empty is not supported on a pseudo-header")
		}
		return pseudoHeaderMatch(out, h)
	}
	sm := table.StringMatch{Name: h.Name, Value: h.Value, IgnoreCase: h.IgnoreCase, Invert: h.Invert}
	switch h.Kind {
	case resource.MatchPresent:
		if h.TreatMissingAsEmpty {
			return errors.New("treat_missing_header_as_empty is not supported with present_match")
		}
		// present_match: p holds when the header's presence equals p; invert_match
		// negates that. The table's present holds when the header is there, so the
		// table's Invert is set exactly when p and invert_match agree.
		sm.Kind, sm.Value, sm.IgnoreCase, sm.Invert = table.StringPresent, "", false, h.Present == h.Invert
		out.Headers = append(out.Headers, sm)
		return nil
	case resource.MatchRegex:
		sm.Kind, sm.IgnoreCase = table.StringRegex, false
	default:
		kind, err := stringKind(h.Kind)
		if err != nil {
			return err
		}
		sm.Kind = kind
	}
	if h.TreatMissingAsEmpty && acceptsEmpty(h) {
		return errors.New("treat_missing_header_as_empty is not supported with a match that accepts an empty value")
	}
	if h.Invert && !h.TreatMissingAsEmpty {
		out.Headers = append(out.Headers, table.StringMatch{Name: h.Name, Kind: table.StringPresent})
	}
	out.Headers = append(out.Headers, sm)
	return nil
}

// acceptsEmpty reports whether a value matcher holds for the empty value.
func acceptsEmpty(h *resource.HeaderMatcher) bool {
	if h.Kind == resource.MatchRegex {
		return h.Regex != nil && h.Regex.MatchString("")
	}
	// An exact match of "" and a prefix, suffix or substring "" all accept "".
	return h.Value == ""
}

// pseudoHeaderMatch handles a matcher on ":method" and refuses the other pseudo-headers.
func pseudoHeaderMatch(out *table.Match, h *resource.HeaderMatcher) error {
	if h.Name != ":method" {
		return fmt.Errorf("matching the pseudo-header %q is not supported", h.Name)
	}
	if h.Kind != resource.MatchExact || h.IgnoreCase || h.Invert {
		return errors.New(`only an exact, case-sensitive, non-inverted ":method" match is supported`)
	}
	if out.Method != "" {
		return errors.New(`a second ":method" match is not supported`)
	}
	out.Method = h.Value
	return nil
}

// queryMatch translates one query parameter condition. A parameter matcher without a
// string match is a presence match; Envoy checks presence whatever present_match says, and
// so does this.
func queryMatch(q *resource.QueryParameterMatcher) (table.StringMatch, error) {
	sm := table.StringMatch{Name: q.Name, Value: q.Value, IgnoreCase: q.IgnoreCase}
	switch q.Kind {
	case resource.MatchPresent:
		sm.Kind, sm.Value, sm.IgnoreCase = table.StringPresent, "", false
	case resource.MatchRegex:
		sm.Kind, sm.IgnoreCase = table.StringRegex, false
	default:
		kind, err := stringKind(q.Kind)
		if err != nil {
			return sm, err
		}
		sm.Kind = kind
	}
	return sm, nil
}

// stringKind maps the string comparisons both models share.
func stringKind(k resource.MatchKind) (table.StringKind, error) {
	switch k {
	case resource.MatchExact:
		return table.StringExact, nil
	case resource.MatchPrefix:
		return table.StringPrefix, nil
	case resource.MatchSuffix:
		return table.StringSuffix, nil
	case resource.MatchContains:
		return table.StringContains, nil
	}
	switch k {
	case resource.MatchRange:
		return "", errors.New("range_match is not supported")
	case resource.MatchCustom:
		return "", errors.New("a custom string matcher is not supported")
	}
	return "", fmt.Errorf("%v match is not supported", k)
}
