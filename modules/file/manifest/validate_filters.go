package manifest

import (
	"regexp"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Validation of HTTPRoute filters, in rules and in backendRefs: the enums, limits and CEL
// rules of HTTPRouteFilter and the filter types in httproute_types.go.

var (
	// filterTypes are the standard channel's filter types plus ExternalAuth, which the Go
	// types (and the experimental channel) carry.
	filterTypes = []gatewayv1.HTTPRouteFilterType{
		gatewayv1.HTTPRouteFilterRequestHeaderModifier, gatewayv1.HTTPRouteFilterResponseHeaderModifier,
		gatewayv1.HTTPRouteFilterRequestMirror, gatewayv1.HTTPRouteFilterRequestRedirect,
		gatewayv1.HTTPRouteFilterURLRewrite, gatewayv1.HTTPRouteFilterExtensionRef,
		gatewayv1.HTTPRouteFilterCORS, gatewayv1.HTTPRouteFilterExternalAuth,
	}
	// uniqueFilters may appear at most once in one list of filters.
	uniqueFilters = []gatewayv1.HTTPRouteFilterType{
		gatewayv1.HTTPRouteFilterCORS, gatewayv1.HTTPRouteFilterRequestHeaderModifier,
		gatewayv1.HTTPRouteFilterResponseHeaderModifier, gatewayv1.HTTPRouteFilterRequestRedirect,
		gatewayv1.HTTPRouteFilterURLRewrite,
	}
	pathModifierTypes = []gatewayv1.HTTPPathModifierType{gatewayv1.FullPathHTTPPathModifier, gatewayv1.PrefixMatchHTTPPathModifier}
	redirectSchemes   = []string{"http", "https"}
	redirectCodes     = []int{301, 302, 303, 307, 308}
	corsMethods       = []gatewayv1.HTTPMethodWithWildcard{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"}
	// corsOrigin is the CRD pattern of a CORS origin.
	corsOrigin = regexp.MustCompile(`(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9\-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$)`)
)

// validateHTTPFilters checks a list of filters. matches are the rule's matches, which a
// ReplacePrefixMatch path modifier depends on.
func validateHTTPFilters(filters []gatewayv1.HTTPRouteFilter, matches []gatewayv1.HTTPRouteMatch, path *field.Path) field.ErrorList {
	errs := maxItems(len(filters), 16, path)
	if hasFilter(filters, gatewayv1.HTTPRouteFilterRequestRedirect) && hasFilter(filters, gatewayv1.HTTPRouteFilterURLRewrite) {
		errs = append(errs, field.Invalid(path, "RequestRedirect and URLRewrite", "may specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both"))
	}
	counts := map[gatewayv1.HTTPRouteFilterType]int{}
	for i := range filters {
		f := &filters[i]
		p := path.Index(i)
		counts[f.Type]++
		if counts[f.Type] == 2 && slices.Contains(uniqueFilters, f.Type) {
			errs = append(errs, field.Duplicate(p.Child("type"), f.Type))
		}
		errs = append(errs, validateHTTPFilter(f, p)...)
		if usesPrefixReplace(f) && !singlePathPrefixMatch(matches) {
			errs = append(errs, field.Invalid(p, f.Type, "when using "+string(f.Type)+" filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified"))
		}
	}
	return errs
}

// validateHTTPFilter checks that a filter sets exactly the field its type names, and that
// field's contents.
func validateHTTPFilter(f *gatewayv1.HTTPRouteFilter, path *field.Path) field.ErrorList {
	if f.Type == "" {
		return field.ErrorList{field.Required(path.Child("type"), "")}
	}
	if !slices.Contains(filterTypes, f.Type) {
		return field.ErrorList{field.NotSupported(path.Child("type"), f.Type, filterTypes)}
	}
	var errs field.ErrorList
	present := map[gatewayv1.HTTPRouteFilterType]bool{
		gatewayv1.HTTPRouteFilterRequestHeaderModifier:  f.RequestHeaderModifier != nil,
		gatewayv1.HTTPRouteFilterResponseHeaderModifier: f.ResponseHeaderModifier != nil,
		gatewayv1.HTTPRouteFilterRequestMirror:          f.RequestMirror != nil,
		gatewayv1.HTTPRouteFilterRequestRedirect:        f.RequestRedirect != nil,
		gatewayv1.HTTPRouteFilterURLRewrite:             f.URLRewrite != nil,
		gatewayv1.HTTPRouteFilterExtensionRef:           f.ExtensionRef != nil,
		gatewayv1.HTTPRouteFilterCORS:                   f.CORS != nil,
		gatewayv1.HTTPRouteFilterExternalAuth:           f.ExternalAuth != nil,
	}
	for _, t := range filterTypes {
		name := filterFieldName(t)
		switch {
		case t == f.Type && !present[t]:
			errs = append(errs, field.Required(path.Child(name), "filter."+name+" must be specified for "+string(t)+" filter.type"))
		case t != f.Type && present[t]:
			errs = append(errs, field.Forbidden(path.Child(name), "filter."+name+" must be nil if the filter.type is not "+string(t)))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	switch f.Type {
	case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
		return validateHeaderFilter(f.RequestHeaderModifier, path.Child("requestHeaderModifier"))
	case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
		return validateHeaderFilter(f.ResponseHeaderModifier, path.Child("responseHeaderModifier"))
	case gatewayv1.HTTPRouteFilterRequestMirror:
		return validateMirror(f.RequestMirror, path.Child("requestMirror"))
	case gatewayv1.HTTPRouteFilterRequestRedirect:
		return validateRedirect(f.RequestRedirect, path.Child("requestRedirect"))
	case gatewayv1.HTTPRouteFilterURLRewrite:
		p := path.Child("urlRewrite")
		errs = validatePreciseHostname(f.URLRewrite.Hostname, p.Child("hostname"))
		return append(errs, validatePathModifier(f.URLRewrite.Path, p.Child("path"))...)
	case gatewayv1.HTTPRouteFilterExtensionRef:
		p := path.Child("extensionRef")
		errs = gwGroup(f.ExtensionRef.Group, p.Child("group"))
		errs = append(errs, gwKind(f.ExtensionRef.Kind, p.Child("kind"))...)
		return append(errs, gwObjectName(f.ExtensionRef.Name, p.Child("name"))...)
	case gatewayv1.HTTPRouteFilterCORS:
		return validateCORS(f.CORS, path.Child("cors"))
	}
	return nil
}

// filterFieldName is the JSON name of the field a filter type uses.
func filterFieldName(t gatewayv1.HTTPRouteFilterType) string {
	switch t {
	case gatewayv1.HTTPRouteFilterURLRewrite:
		return "urlRewrite"
	case gatewayv1.HTTPRouteFilterCORS:
		return "cors"
	default:
		s := string(t)
		return string(s[0]+'a'-'A') + s[1:]
	}
}

func validateHeaderFilter(h *gatewayv1.HTTPHeaderFilter, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, list := range []struct {
		name    string
		headers []gatewayv1.HTTPHeader
	}{{"set", h.Set}, {"add", h.Add}} {
		p := path.Child(list.name)
		errs = append(errs, maxItems(len(list.headers), 16, p)...)
		seen := map[gatewayv1.HTTPHeaderName]bool{}
		for i, hdr := range list.headers {
			errs = append(errs, gwHeaderName(string(hdr.Name), p.Index(i).Child("name"))...)
			errs = append(errs, requiredMaxLen(hdr.Value, 4096, p.Index(i).Child("value"))...)
			if seen[hdr.Name] {
				errs = append(errs, field.Duplicate(p.Index(i).Child("name"), hdr.Name))
			}
			seen[hdr.Name] = true
		}
	}
	p := path.Child("remove")
	errs = append(errs, maxItems(len(h.Remove), 16, p)...)
	seen := map[string]bool{}
	for i, name := range h.Remove {
		errs = append(errs, gwHeaderName(name, p.Index(i))...)
		if seen[name] {
			errs = append(errs, field.Duplicate(p.Index(i), name))
		}
		seen[name] = true
	}
	return errs
}

func validateMirror(m *gatewayv1.HTTPRequestMirrorFilter, path *field.Path) field.ErrorList {
	errs := validateBackendObjectRef(&m.BackendRef, path.Child("backendRef"))
	if m.Percent != nil && m.Fraction != nil {
		errs = append(errs, field.Invalid(path, "percent and fraction", "only one of percent or fraction may be specified in HTTPRequestMirrorFilter"))
	}
	if m.Percent != nil && (*m.Percent < 0 || *m.Percent > 100) {
		errs = append(errs, field.Invalid(path.Child("percent"), *m.Percent, rangeError(0, 100)))
	}
	if fr := m.Fraction; fr != nil {
		p := path.Child("fraction")
		den := deref(fr.Denominator)
		switch {
		case fr.Numerator < 0:
			errs = append(errs, field.Invalid(p.Child("numerator"), fr.Numerator, "must be greater than or equal to 0"))
		case den < 1:
			errs = append(errs, field.Invalid(p.Child("denominator"), den, "must be greater than or equal to 1"))
		case fr.Numerator > den:
			errs = append(errs, field.Invalid(p.Child("numerator"), fr.Numerator, "numerator must be less than or equal to denominator"))
		}
	}
	return errs
}

func validateRedirect(r *gatewayv1.HTTPRequestRedirectFilter, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.Scheme != nil && !slices.Contains(redirectSchemes, *r.Scheme) {
		errs = append(errs, field.NotSupported(path.Child("scheme"), *r.Scheme, redirectSchemes))
	}
	errs = append(errs, validatePreciseHostname(r.Hostname, path.Child("hostname"))...)
	errs = append(errs, validatePathModifier(r.Path, path.Child("path"))...)
	errs = append(errs, gwPort(r.Port, path.Child("port"))...)
	if r.StatusCode != nil && !slices.Contains(redirectCodes, *r.StatusCode) {
		errs = append(errs, field.NotSupported(path.Child("statusCode"), *r.StatusCode, []string{"301", "302", "303", "307", "308"}))
	}
	return errs
}

func validatePreciseHostname(h *gatewayv1.PreciseHostname, path *field.Path) field.ErrorList {
	if h == nil {
		return nil
	}
	return dnsSubdomain(string(*h), path)
}

// validatePathModifier checks that a path modifier sets exactly the field its type names.
func validatePathModifier(m *gatewayv1.HTTPPathModifier, path *field.Path) field.ErrorList {
	if m == nil {
		return nil
	}
	switch m.Type {
	case "":
		return field.ErrorList{field.Required(path.Child("type"), "")}
	case gatewayv1.FullPathHTTPPathModifier:
		if m.ReplaceFullPath == nil {
			return field.ErrorList{field.Required(path.Child("replaceFullPath"), "replaceFullPath must be specified when type is set to 'ReplaceFullPath'")}
		}
		if m.ReplacePrefixMatch != nil {
			return field.ErrorList{field.Forbidden(path.Child("replacePrefixMatch"), "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set")}
		}
		if len(*m.ReplaceFullPath) > 1024 {
			return field.ErrorList{field.TooLong(path.Child("replaceFullPath"), *m.ReplaceFullPath, 1024)}
		}
	case gatewayv1.PrefixMatchHTTPPathModifier:
		if m.ReplacePrefixMatch == nil {
			return field.ErrorList{field.Required(path.Child("replacePrefixMatch"), "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'")}
		}
		if m.ReplaceFullPath != nil {
			return field.ErrorList{field.Forbidden(path.Child("replaceFullPath"), "type must be 'ReplaceFullPath' when replaceFullPath is set")}
		}
		if len(*m.ReplacePrefixMatch) > 1024 {
			return field.ErrorList{field.TooLong(path.Child("replacePrefixMatch"), *m.ReplacePrefixMatch, 1024)}
		}
	default:
		return field.ErrorList{field.NotSupported(path.Child("type"), m.Type, pathModifierTypes)}
	}
	return nil
}

func validateCORS(c *gatewayv1.HTTPCORSFilter, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	origins := path.Child("allowOrigins")
	for i, o := range c.AllowOrigins {
		if !corsOrigin.MatchString(string(o)) {
			errs = append(errs, field.Invalid(origins.Index(i), o, "must be '*' or an origin such as https://example.com or https://*.example.com:8443"))
		}
	}
	if slices.Contains(c.AllowOrigins, "*") && len(c.AllowOrigins) > 1 {
		errs = append(errs, field.Invalid(origins, c.AllowOrigins, "AllowOrigins cannot contain '*' alongside other origins"))
	}
	methodsPath := path.Child("allowMethods")
	for i, m := range c.AllowMethods {
		if !slices.Contains(corsMethods, m) {
			errs = append(errs, field.NotSupported(methodsPath.Index(i), m, corsMethods))
		}
	}
	if slices.Contains(c.AllowMethods, "*") && len(c.AllowMethods) > 1 {
		errs = append(errs, field.Invalid(methodsPath, c.AllowMethods, "AllowMethods cannot contain '*' alongside other methods"))
	}
	for _, list := range []struct {
		name    string
		headers []gatewayv1.HTTPHeaderName
	}{{"allowHeaders", c.AllowHeaders}, {"exposeHeaders", c.ExposeHeaders}} {
		for i, h := range list.headers {
			errs = append(errs, gwHeaderName(string(h), path.Child(list.name).Index(i))...)
		}
	}
	if slices.Contains(c.AllowHeaders, "*") && len(c.AllowHeaders) > 1 {
		errs = append(errs, field.Invalid(path.Child("allowHeaders"), c.AllowHeaders, "AllowHeaders cannot contain '*' alongside other headers"))
	}
	if c.MaxAge < 1 {
		errs = append(errs, field.Invalid(path.Child("maxAge"), c.MaxAge, "must be greater than or equal to 1"))
	}
	return errs
}

func hasFilter(filters []gatewayv1.HTTPRouteFilter, t gatewayv1.HTTPRouteFilterType) bool {
	return slices.ContainsFunc(filters, func(f gatewayv1.HTTPRouteFilter) bool { return f.Type == t })
}

// usesPrefixReplace reports whether a redirect or rewrite filter replaces the matched path
// prefix, which is only defined when the rule matches exactly one path prefix.
func usesPrefixReplace(f *gatewayv1.HTTPRouteFilter) bool {
	var m *gatewayv1.HTTPPathModifier
	switch {
	case f.Type == gatewayv1.HTTPRouteFilterRequestRedirect && f.RequestRedirect != nil:
		m = f.RequestRedirect.Path
	case f.Type == gatewayv1.HTTPRouteFilterURLRewrite && f.URLRewrite != nil:
		m = f.URLRewrite.Path
	}
	return m != nil && m.Type == gatewayv1.PrefixMatchHTTPPathModifier && m.ReplacePrefixMatch != nil
}

func singlePathPrefixMatch(matches []gatewayv1.HTTPRouteMatch) bool {
	return len(matches) == 1 && matches[0].Path != nil && deref(matches[0].Path.Type) == gatewayv1.PathMatchPathPrefix
}
