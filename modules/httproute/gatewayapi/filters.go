package gatewayapi

import (
	"fmt"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// ruleError is why a rule cannot be served at all: it is dropped, and the route reports
// it through its Accepted or PartiallyInvalid condition.
type ruleError struct {
	reason  gatewayv1.RouteConditionReason
	message string
}

func unsupported(format string, args ...any) *ruleError {
	return &ruleError{reason: gatewayv1.RouteReasonUnsupportedValue, message: fmt.Sprintf(format, args...)}
}

func incompatible(format string, args ...any) *ruleError {
	return &ruleError{reason: gatewayv1.RouteReasonIncompatibleFilters, message: fmt.Sprintf(format, args...)}
}

// refProblem is a reference a rule makes that does not resolve; the rule still serves,
// answering 500 where it would have used the reference.
type refProblem struct {
	reason  gatewayv1.RouteConditionReason
	message string
}

// ruleFilters is what a rule's filters ask for.
type ruleFilters struct {
	requestHeaders, responseHeaders *table.HeaderOps
	redirect                        *table.Redirect
	rewrite                         *table.Rewrite
	mirrors                         []*gatewayv1.HTTPRequestMirrorFilter
	cors                            *table.CORS
	extensions                      []table.RawHandler
	// broken is set when an ExtensionRef does not resolve: the spec forbids skipping
	// such a filter, so the rule answers 500 instead of running without it.
	broken bool
}

// prefixReplacement reports whether a redirect or rewrite replaces the matched prefix,
// which only makes sense for PathPrefix matches.
func (f *ruleFilters) prefixReplacement() bool {
	return (f.redirect != nil && f.redirect.PrefixReplacement != nil) ||
		(f.rewrite != nil && f.rewrite.PrefixReplacement != nil)
}

// convertFilters reads a rule's filters. Filters of one type may not repeat (except
// RequestMirror and ExtensionRef), and RequestRedirect and URLRewrite exclude each other;
// breaking either rule, or using a type this translation does not implement, drops the
// rule. ExtensionRefs are resolved here: a missing HTTPFilter is a refProblem.
func (c *compiler) convertFilters(namespace string, filters []gatewayv1.HTTPRouteFilter, refs *[]refProblem) (*ruleFilters, *ruleError) {
	out := &ruleFilters{}
	if len(filters) == 0 {
		return out, nil
	}
	seen := make(map[gatewayv1.HTTPRouteFilterType]bool, len(filters))
	for i := range filters {
		f := &filters[i]
		if seen[f.Type] && f.Type != gatewayv1.HTTPRouteFilterRequestMirror && f.Type != gatewayv1.HTTPRouteFilterExtensionRef {
			return nil, incompatible("filters[%d]: filter type %s is given more than once", i, f.Type)
		}
		seen[f.Type] = true
		switch f.Type {
		case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
			if f.RequestHeaderModifier == nil {
				return nil, missingField(i, f.Type)
			}
			out.requestHeaders = headerOps(f.RequestHeaderModifier)
		case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
			if f.ResponseHeaderModifier == nil {
				return nil, missingField(i, f.Type)
			}
			out.responseHeaders = headerOps(f.ResponseHeaderModifier)
		case gatewayv1.HTTPRouteFilterRequestRedirect:
			if f.RequestRedirect == nil {
				return nil, missingField(i, f.Type)
			}
			rd, err := convertRedirect(f.RequestRedirect)
			if err != nil {
				return nil, unsupported("filters[%d]: %s", i, err)
			}
			out.redirect = rd
		case gatewayv1.HTTPRouteFilterURLRewrite:
			if f.URLRewrite == nil {
				return nil, missingField(i, f.Type)
			}
			rw, err := convertRewrite(f.URLRewrite)
			if err != nil {
				return nil, unsupported("filters[%d]: %s", i, err)
			}
			out.rewrite = rw
		case gatewayv1.HTTPRouteFilterRequestMirror:
			if f.RequestMirror == nil {
				return nil, missingField(i, f.Type)
			}
			if _, err := mirrorFraction(f.RequestMirror); err != nil {
				return nil, unsupported("filters[%d]: %s", i, err)
			}
			out.mirrors = append(out.mirrors, f.RequestMirror)
		case gatewayv1.HTTPRouteFilterCORS:
			if f.CORS == nil {
				return nil, missingField(i, f.Type)
			}
			out.cors = convertCORS(f.CORS)
		case gatewayv1.HTTPRouteFilterExtensionRef:
			if f.ExtensionRef == nil {
				return nil, missingField(i, f.Type)
			}
			handlers, problem := c.resolveExtension(namespace, f.ExtensionRef)
			if problem != nil {
				problem.message = fmt.Sprintf("filters[%d]: %s", i, problem.message)
				*refs = append(*refs, *problem)
				out.broken = true
				continue
			}
			out.extensions = append(out.extensions, handlers...)
		default:
			return nil, unsupported("filters[%d]: filter type %q is not supported", i, f.Type)
		}
	}
	if out.redirect != nil && out.rewrite != nil {
		return nil, incompatible("RequestRedirect and URLRewrite filters cannot be used together")
	}
	return out, nil
}

// missingField is the error for a filter without the field its type needs.
func missingField(i int, t gatewayv1.HTTPRouteFilterType) *ruleError {
	return unsupported("filters[%d]: filter type %s needs its %s field", i, t, filterField(t))
}

// filterField is the field a filter type's settings live in.
func filterField(t gatewayv1.HTTPRouteFilterType) string {
	s := string(t)
	if s == "" {
		return ""
	}
	if t == gatewayv1.HTTPRouteFilterCORS {
		return "cors"
	}
	if t == gatewayv1.HTTPRouteFilterURLRewrite {
		return "urlRewrite"
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// headerOps converts a header filter; a filter that changes nothing is nil.
func headerOps(f *gatewayv1.HTTPHeaderFilter) *table.HeaderOps {
	ops := &table.HeaderOps{Remove: append([]string(nil), f.Remove...)}
	for _, h := range f.Set {
		ops.Set = append(ops.Set, table.Header{Name: string(h.Name), Value: h.Value})
	}
	for _, h := range f.Add {
		ops.Add = append(ops.Add, table.Header{Name: string(h.Name), Value: h.Value})
	}
	if ops.IsEmpty() {
		return nil
	}
	return ops
}

// Well-known ports of the redirect schemes.
var schemePorts = map[string]int{"http": 80, "https": 443}

// convertRedirect converts a RequestRedirect filter. When the scheme changes and no port
// is given, the spec makes the port the new scheme's well-known one (not the listener's),
// so that port is written out; with neither set, Port stays 0 and the runtime keeps the
// listener's port.
func convertRedirect(f *gatewayv1.HTTPRequestRedirectFilter) (*table.Redirect, error) {
	rd := &table.Redirect{StatusCode: 302}
	if f.Scheme != nil {
		s := strings.ToLower(*f.Scheme)
		if _, ok := schemePorts[s]; !ok {
			return nil, fmt.Errorf("redirect scheme %q is not supported; use http or https", *f.Scheme)
		}
		rd.Scheme = s
	}
	if f.Hostname != nil {
		rd.Host = strings.ToLower(string(*f.Hostname))
	}
	if f.Port != nil {
		rd.Port = int(*f.Port)
	} else if rd.Scheme != "" {
		rd.Port = schemePorts[rd.Scheme]
	}
	if f.StatusCode != nil {
		switch *f.StatusCode {
		case 301, 302, 303, 307, 308:
			rd.StatusCode = *f.StatusCode
		default:
			return nil, fmt.Errorf("redirect status code %d is not supported; use 301, 302, 303, 307 or 308", *f.StatusCode)
		}
	}
	if f.Path != nil {
		full, prefix, err := pathModifier(f.Path)
		if err != nil {
			return nil, fmt.Errorf("redirect %w", err)
		}
		rd.FullPath, rd.PrefixReplacement = full, prefix
	}
	return rd, nil
}

// convertRewrite converts a URLRewrite filter.
func convertRewrite(f *gatewayv1.HTTPURLRewriteFilter) (*table.Rewrite, error) {
	rw := &table.Rewrite{}
	if f.Hostname != nil {
		rw.Host = string(*f.Hostname)
	}
	if f.Path != nil {
		full, prefix, err := pathModifier(f.Path)
		if err != nil {
			return nil, fmt.Errorf("rewrite %w", err)
		}
		rw.FullPath, rw.PrefixReplacement = full, prefix
	}
	return rw, nil
}

// pathModifier reads a ReplaceFullPath or ReplacePrefixMatch path modifier.
func pathModifier(p *gatewayv1.HTTPPathModifier) (full, prefix *string, err error) {
	switch p.Type {
	case gatewayv1.FullPathHTTPPathModifier:
		if p.ReplaceFullPath == nil {
			return nil, nil, fmt.Errorf("path of type %s needs replaceFullPath", p.Type)
		}
		v := *p.ReplaceFullPath
		return &v, nil, nil
	case gatewayv1.PrefixMatchHTTPPathModifier:
		if p.ReplacePrefixMatch == nil {
			return nil, nil, fmt.Errorf("path of type %s needs replacePrefixMatch", p.Type)
		}
		v := *p.ReplacePrefixMatch
		return nil, &v, nil
	}
	return nil, nil, fmt.Errorf("path modifier type %q is not supported", p.Type)
}

// mirrorFraction is the share of requests a mirror receives (nil: all of them). A
// fraction's denominator is brought to one the table allows (100, 10,000 or 1,000,000),
// exactly when it divides one of them and rounded down to millionths otherwise.
func mirrorFraction(f *gatewayv1.HTTPRequestMirrorFilter) (*table.Fraction, error) {
	switch {
	case f.Percent != nil && f.Fraction != nil:
		return nil, fmt.Errorf("requestMirror takes percent or fraction, not both")
	case f.Percent != nil:
		p := *f.Percent
		if p < 0 || p > 100 {
			return nil, fmt.Errorf("requestMirror percent %d is not between 0 and 100", p)
		}
		if p == 100 {
			return nil, nil
		}
		return &table.Fraction{Numerator: uint32(p), Denominator: 100}, nil
	case f.Fraction != nil:
		num, den := int64(f.Fraction.Numerator), int64(100)
		if f.Fraction.Denominator != nil {
			den = int64(*f.Fraction.Denominator)
		}
		if num < 0 || den <= 0 || num > den {
			return nil, fmt.Errorf("requestMirror fraction %d/%d is not between 0 and 1", num, den)
		}
		if num == den {
			return nil, nil
		}
		for _, d := range []int64{100, 10_000, 1_000_000} {
			if d%den == 0 {
				return &table.Fraction{Numerator: uint32(num * (d / den)), Denominator: uint32(d)}, nil
			}
		}
		return &table.Fraction{Numerator: uint32(num * 1_000_000 / den), Denominator: 1_000_000}, nil
	}
	return nil, nil
}

// corsDefaultMaxAge is the Access-Control-Max-Age the spec asks for when maxAge is unset.
const corsDefaultMaxAge = 5

// convertCORS converts a CORS filter.
func convertCORS(f *gatewayv1.HTTPCORSFilter) *table.CORS {
	out := &table.CORS{MaxAge: int(f.MaxAge)}
	if out.MaxAge == 0 {
		out.MaxAge = corsDefaultMaxAge
	}
	if f.AllowCredentials != nil {
		out.AllowCredentials = *f.AllowCredentials
	}
	for _, o := range f.AllowOrigins {
		out.AllowOrigins = append(out.AllowOrigins, string(o))
	}
	for _, m := range f.AllowMethods {
		out.AllowMethods = append(out.AllowMethods, string(m))
	}
	for _, h := range f.AllowHeaders {
		out.AllowHeaders = append(out.AllowHeaders, string(h))
	}
	for _, h := range f.ExposeHeaders {
		out.ExposeHeaders = append(out.ExposeHeaders, string(h))
	}
	return out
}
