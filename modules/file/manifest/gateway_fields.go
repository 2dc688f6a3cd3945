package manifest

import (
	"regexp"
	"strings"

	"golang.org/x/net/http/httpguts"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Validators for the Gateway API's shared field types (shared_types.go and
// object_reference_types.go in sigs.k8s.io/gateway-api/apis/v1). Each applies the length
// limits and pattern that the type's kubebuilder markers put in the CRD schema, using
// apimachinery's validators where the pattern is a standard one.

// kindPattern is the CRD pattern of a Kind, which no apimachinery helper matches (it allows
// upper case).
var kindPattern = regexp.MustCompile(`^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`)

// durationPattern is GEP-2257's duration format, the pattern of gatewayv1.Duration.
var durationPattern = regexp.MustCompile(`^([0-9]{1,5}(h|m|s|ms)){1,4}$`)

func gwGroup(g gatewayv1.Group, path *field.Path) field.ErrorList {
	if g == "" {
		return nil // the core API group
	}
	return dnsSubdomain(string(g), path)
}

func gwKind(k gatewayv1.Kind, path *field.Path) field.ErrorList {
	switch {
	case k == "":
		return field.ErrorList{field.Required(path, "")}
	case len(k) > 63:
		return field.ErrorList{field.TooLong(path, k, 63)}
	case !kindPattern.MatchString(string(k)):
		return field.ErrorList{field.Invalid(path, k, validation.RegexError("a kind must start with a letter and contain only letters, digits and '-'", kindPattern.String(), "HTTPRoute"))}
	}
	return nil
}

func gwObjectName(n gatewayv1.ObjectName, path *field.Path) field.ErrorList {
	return requiredMaxLen(string(n), 253, path)
}

func gwNamespace(ns *gatewayv1.Namespace, path *field.Path) field.ErrorList {
	if ns == nil {
		return nil
	}
	return dnsLabel(string(*ns), path)
}

func gwSectionName(s *gatewayv1.SectionName, path *field.Path) field.ErrorList {
	if s == nil {
		return nil
	}
	return dnsSubdomain(string(*s), path)
}

func gwPort(p *gatewayv1.PortNumber, path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	return portNumber(*p, path)
}

// gwHostname checks a Hostname: a DNS subdomain, optionally prefixed by a "*." wildcard
// label.
func gwHostname(h gatewayv1.Hostname, path *field.Path) field.ErrorList {
	s := string(h)
	var msgs []string
	if strings.HasPrefix(s, "*.") {
		msgs = validation.IsWildcardDNS1123Subdomain(s)
	} else {
		msgs = validation.IsDNS1123Subdomain(s)
	}
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(path, s, msg))
	}
	return errs
}

func gwHostnames(hosts []gatewayv1.Hostname, maxItems int, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(hosts) > maxItems {
		errs = append(errs, field.TooMany(path, len(hosts), maxItems))
	}
	for i, h := range hosts {
		errs = append(errs, gwHostname(h, path.Index(i))...)
	}
	return errs
}

// gwHeaderName checks an HTTP header (or query parameter) name: an RFC 7230 token.
func gwHeaderName(name string, path *field.Path) field.ErrorList {
	if errs := requiredMaxLen(name, 256, path); len(errs) > 0 {
		return errs
	}
	if !httpguts.ValidHeaderFieldName(name) {
		return field.ErrorList{field.Invalid(path, name, "must be a valid HTTP header name (an RFC 7230 token)")}
	}
	return nil
}

// gwDuration checks a GEP-2257 duration, such as "10s" or "1h30m".
func gwDuration(d *gatewayv1.Duration, path *field.Path) field.ErrorList {
	if d == nil || durationPattern.MatchString(string(*d)) {
		return nil
	}
	return field.ErrorList{field.Invalid(path, *d, validation.RegexError("must be a GEP-2257 duration", durationPattern.String(), "10s", "1h30m", "500ms"))}
}

// rangeError is the message of a number outside [lo, hi].
func rangeError(lo, hi int) string { return validation.InclusiveRangeError(lo, hi) }

// requiredMaxLen checks a required string with a maximum length.
func requiredMaxLen(s string, maxLen int, path *field.Path) field.ErrorList {
	switch {
	case s == "":
		return field.ErrorList{field.Required(path, "")}
	case len(s) > maxLen:
		return field.ErrorList{field.TooLong(path, s, maxLen)}
	}
	return nil
}

func maxItems(n, limit int, path *field.Path) field.ErrorList {
	if n > limit {
		return field.ErrorList{field.TooMany(path, n, limit)}
	}
	return nil
}

// Reference defaults, from the +kubebuilder:default markers of the reference types.

func defaultParentRef(r *gatewayv1.ParentReference) {
	if r.Group == nil {
		g := gatewayv1.Group(gatewayv1.GroupName)
		r.Group = &g
	}
	if r.Kind == nil {
		k := gatewayv1.Kind("Gateway")
		r.Kind = &k
	}
}

func defaultBackendObjectRef(r *gatewayv1.BackendObjectReference) {
	if r.Group == nil {
		g := gatewayv1.Group("")
		r.Group = &g
	}
	if r.Kind == nil {
		k := gatewayv1.Kind("Service")
		r.Kind = &k
	}
}

func defaultBackendRef(r *gatewayv1.BackendRef) {
	defaultBackendObjectRef(&r.BackendObjectReference)
	if r.Weight == nil {
		w := int32(1)
		r.Weight = &w
	}
}

func defaultSecretRef(r *gatewayv1.SecretObjectReference) {
	if r.Group == nil {
		g := gatewayv1.Group("")
		r.Group = &g
	}
	if r.Kind == nil {
		k := gatewayv1.Kind("Secret")
		r.Kind = &k
	}
}

// Reference validation. Defaults have been applied, so Group and Kind are set.

func validateParentRefs(refs []gatewayv1.ParentReference, path *field.Path) field.ErrorList {
	errs := maxItems(len(refs), 32, path)
	type parent struct{ group, kind, namespace, name string }
	byParent := map[parent][]int{}
	var order []parent
	for i, r := range refs {
		p := path.Index(i)
		errs = append(errs, gwGroup(deref(r.Group), p.Child("group"))...)
		errs = append(errs, gwKind(deref(r.Kind), p.Child("kind"))...)
		errs = append(errs, gwNamespace(r.Namespace, p.Child("namespace"))...)
		errs = append(errs, gwObjectName(r.Name, p.Child("name"))...)
		errs = append(errs, gwSectionName(r.SectionName, p.Child("sectionName"))...)
		errs = append(errs, gwPort(r.Port, p.Child("port"))...)
		key := parent{string(deref(r.Group)), string(deref(r.Kind)), string(deref(r.Namespace)), string(r.Name)}
		if _, ok := byParent[key]; !ok {
			order = append(order, key)
		}
		byParent[key] = append(byParent[key], i)
	}
	// Several references to one parent must each pick a different section of it.
	for _, key := range order {
		idx := byParent[key]
		if len(idx) < 2 {
			continue
		}
		sections := map[string]bool{}
		for _, i := range idx {
			s := string(deref(refs[i].SectionName))
			switch {
			case s == "":
				errs = append(errs, field.Required(path.Index(i).Child("sectionName"), "sectionName must be specified when parentRefs includes 2 or more references to the same parent"))
			case sections[s]:
				errs = append(errs, field.Duplicate(path.Index(i).Child("sectionName"), s))
			}
			sections[s] = true
		}
	}
	return errs
}

func validateBackendObjectRef(r *gatewayv1.BackendObjectReference, path *field.Path) field.ErrorList {
	errs := gwGroup(deref(r.Group), path.Child("group"))
	errs = append(errs, gwKind(deref(r.Kind), path.Child("kind"))...)
	errs = append(errs, gwObjectName(r.Name, path.Child("name"))...)
	errs = append(errs, gwNamespace(r.Namespace, path.Child("namespace"))...)
	errs = append(errs, gwPort(r.Port, path.Child("port"))...)
	if deref(r.Group) == "" && deref(r.Kind) == "Service" && r.Port == nil {
		errs = append(errs, field.Required(path.Child("port"), "must have port for Service reference"))
	}
	return errs
}

func validateBackendRef(r *gatewayv1.BackendRef, path *field.Path) field.ErrorList {
	errs := validateBackendObjectRef(&r.BackendObjectReference, path)
	if r.Weight != nil && (*r.Weight < 0 || *r.Weight > 1000000) {
		errs = append(errs, field.Invalid(path.Child("weight"), *r.Weight, validation.InclusiveRangeError(0, 1000000)))
	}
	return errs
}

func validateSecretRef(r *gatewayv1.SecretObjectReference, path *field.Path) field.ErrorList {
	errs := gwGroup(deref(r.Group), path.Child("group"))
	errs = append(errs, gwKind(deref(r.Kind), path.Child("kind"))...)
	errs = append(errs, gwObjectName(r.Name, path.Child("name"))...)
	return append(errs, gwNamespace(r.Namespace, path.Child("namespace"))...)
}

// deref returns *p, or the zero value when p is nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
