package manifest

import (
	"regexp"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwvalidation "sigs.k8s.io/gateway-api/apis/v1/util/validation"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// Defaults and validation of GatewayClass, Gateway and ReferenceGrant, from the markers of
// gatewayclass_types.go, gateway_types.go and referencegrant_types.go.

var (
	// protocolPattern is the CRD pattern of a listener protocol: a core name such as
	// "HTTPS", or a domain-prefixed implementation-specific one.
	protocolPattern = regexp.MustCompile(`^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$`)
	// addressTypePattern is the CRD pattern of a Gateway address type.
	addressTypePattern = regexp.MustCompile(`^Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$`)

	tlsModes       = []gatewayv1.TLSModeType{gatewayv1.TLSModeTerminate, gatewayv1.TLSModePassthrough}
	routeFroms     = []gatewayv1.FromNamespaces{gatewayv1.NamespacesFromAll, gatewayv1.NamespacesFromSelector, gatewayv1.NamespacesFromSame}
	listenerFroms  = []gatewayv1.FromNamespaces{gatewayv1.NamespacesFromAll, gatewayv1.NamespacesFromSelector, gatewayv1.NamespacesFromSame, gatewayv1.NamespacesFromNone}
	noTLSProtocols = []gatewayv1.ProtocolType{gatewayv1.HTTPProtocolType, gatewayv1.TCPProtocolType, gatewayv1.UDPProtocolType}
)

func prepareGatewayClass(obj model.Object, _ string) field.ErrorList {
	gc := obj.(*gatewayv1.GatewayClass)
	spec := field.NewPath("spec")
	var errs field.ErrorList
	name := gc.Spec.ControllerName
	switch {
	case name == "":
		errs = append(errs, field.Required(spec.Child("controllerName"), ""))
	case len(name) > 253:
		errs = append(errs, field.TooLong(spec.Child("controllerName"), name, 253))
	case !gwvalidation.IsControllerNameValid(name):
		errs = append(errs, field.Invalid(spec.Child("controllerName"), name, "must be a domain-prefixed path, such as example.com/gateway-controller"))
	}
	if d := gc.Spec.Description; d != nil && len(*d) > 64 {
		errs = append(errs, field.TooLong(spec.Child("description"), *d, 64))
	}
	if ref := gc.Spec.ParametersRef; ref != nil {
		p := spec.Child("parametersRef")
		errs = append(errs, gwGroup(ref.Group, p.Child("group"))...)
		errs = append(errs, gwKind(ref.Kind, p.Child("kind"))...)
		errs = append(errs, requiredMaxLen(ref.Name, 253, p.Child("name"))...)
		errs = append(errs, gwNamespace(ref.Namespace, p.Child("namespace"))...)
	}
	return errs
}

func prepareReferenceGrant(obj model.Object, _ string) field.ErrorList {
	rg := obj.(*gatewayv1.ReferenceGrant)
	spec := field.NewPath("spec")
	var errs field.ErrorList
	from, to := spec.Child("from"), spec.Child("to")
	errs = append(errs, itemCount(len(rg.Spec.From), 1, 16, from)...)
	for i, f := range rg.Spec.From {
		p := from.Index(i)
		errs = append(errs, gwGroup(f.Group, p.Child("group"))...)
		errs = append(errs, gwKind(f.Kind, p.Child("kind"))...)
		if f.Namespace == "" {
			errs = append(errs, field.Required(p.Child("namespace"), ""))
		} else {
			errs = append(errs, dnsLabel(string(f.Namespace), p.Child("namespace"))...)
		}
	}
	errs = append(errs, itemCount(len(rg.Spec.To), 1, 16, to)...)
	for i, t := range rg.Spec.To {
		p := to.Index(i)
		errs = append(errs, gwGroup(t.Group, p.Child("group"))...)
		errs = append(errs, gwKind(t.Kind, p.Child("kind"))...)
		if t.Name != nil {
			errs = append(errs, gwObjectName(*t.Name, p.Child("name"))...)
		}
	}
	return errs
}

func prepareGateway(obj model.Object, _ string) field.ErrorList {
	gw := obj.(*gatewayv1.Gateway)
	defaultGateway(&gw.Spec)
	return validateGatewaySpec(&gw.Spec, field.NewPath("spec"))
}

func validateGatewaySpec(spec *gatewayv1.GatewaySpec, path *field.Path) field.ErrorList {
	errs := gwObjectName(spec.GatewayClassName, path.Child("gatewayClassName"))
	errs = append(errs, validateListeners(spec.Listeners, path.Child("listeners"))...)
	errs = append(errs, validateGatewayAddresses(spec.Addresses, path.Child("addresses"))...)
	if al := spec.AllowedListeners; al != nil && al.Namespaces != nil {
		p := path.Child("allowedListeners", "namespaces")
		errs = append(errs, validateFrom(al.Namespaces.From, al.Namespaces.Selector, listenerFroms, p)...)
	}
	if tls := spec.TLS; tls != nil && tls.Backend != nil && tls.Backend.ClientCertificateRef != nil {
		errs = append(errs, validateSecretRef(tls.Backend.ClientCertificateRef, path.Child("tls", "backend", "clientCertificateRef"))...)
	}
	return errs
}

func validateListeners(listeners []gatewayv1.Listener, path *field.Path) field.ErrorList {
	errs := itemCount(len(listeners), 1, 64, path)
	names := map[gatewayv1.SectionName]bool{}
	type endpoint struct {
		port     gatewayv1.PortNumber
		protocol gatewayv1.ProtocolType
		hostname gatewayv1.Hostname
		wildcard bool // hostname unset, which differs from any hostname
	}
	endpoints := map[endpoint]bool{}
	for i := range listeners {
		l := &listeners[i]
		p := path.Index(i)
		if l.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			errs = append(errs, dnsSubdomain(string(l.Name), p.Child("name"))...)
			if names[l.Name] {
				errs = append(errs, field.Duplicate(p.Child("name"), l.Name))
			}
			names[l.Name] = true
		}
		errs = append(errs, portNumber(l.Port, p.Child("port"))...)
		errs = append(errs, validateProtocol(l.Protocol, p.Child("protocol"))...)
		if l.Hostname != nil {
			errs = append(errs, gwHostname(*l.Hostname, p.Child("hostname"))...)
			if (l.Protocol == gatewayv1.TCPProtocolType || l.Protocol == gatewayv1.UDPProtocolType) && *l.Hostname != "" {
				errs = append(errs, field.Forbidden(p.Child("hostname"), "hostname must not be specified for protocols ['TCP', 'UDP']"))
			}
		}
		errs = append(errs, validateListenerTLS(l, p)...)
		if ar := l.AllowedRoutes; ar != nil {
			errs = append(errs, validateAllowedRoutes(ar, p.Child("allowedRoutes"))...)
		}
		key := endpoint{port: l.Port, protocol: l.Protocol, hostname: deref(l.Hostname), wildcard: l.Hostname == nil}
		if endpoints[key] {
			errs = append(errs, field.Duplicate(p, "combination of port, protocol and hostname must be unique for each listener"))
		}
		endpoints[key] = true
	}
	return errs
}

func validateProtocol(protocol gatewayv1.ProtocolType, path *field.Path) field.ErrorList {
	if errs := requiredMaxLen(string(protocol), 255, path); len(errs) > 0 {
		return errs
	}
	if !protocolPattern.MatchString(string(protocol)) {
		return field.ErrorList{field.Invalid(path, protocol, validation.RegexError("must be a protocol name such as HTTP, HTTPS, TLS, TCP or UDP, or a domain-prefixed name", protocolPattern.String()))}
	}
	return nil
}

func validateListenerTLS(l *gatewayv1.Listener, path *field.Path) field.ErrorList {
	tls := l.TLS
	p := path.Child("tls")
	switch {
	case tls == nil && l.Protocol == gatewayv1.TLSProtocolType:
		return field.ErrorList{field.Required(p.Child("mode"), "tls mode must be set for protocol TLS")}
	case tls == nil:
		return nil
	case slices.Contains(noTLSProtocols, l.Protocol):
		return field.ErrorList{field.Forbidden(p, "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']")}
	}
	var errs field.ErrorList
	mode := deref(tls.Mode)
	if !slices.Contains(tlsModes, mode) {
		errs = append(errs, field.NotSupported(p.Child("mode"), mode, tlsModes))
	}
	if l.Protocol == gatewayv1.HTTPSProtocolType && mode != gatewayv1.TLSModeTerminate {
		errs = append(errs, field.Invalid(p.Child("mode"), mode, "tls mode must be Terminate for protocol HTTPS"))
	}
	if mode == gatewayv1.TLSModeTerminate && len(tls.CertificateRefs) == 0 && len(tls.Options) == 0 {
		errs = append(errs, field.Required(p.Child("certificateRefs"), "certificateRefs or options must be specified when mode is Terminate"))
	}
	errs = append(errs, maxItems(len(tls.CertificateRefs), 64, p.Child("certificateRefs"))...)
	for i := range tls.CertificateRefs {
		errs = append(errs, validateSecretRef(&tls.CertificateRefs[i], p.Child("certificateRefs").Index(i))...)
	}
	return errs
}

func validateAllowedRoutes(ar *gatewayv1.AllowedRoutes, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ns := ar.Namespaces; ns != nil {
		errs = append(errs, validateFrom(ns.From, ns.Selector, routeFroms, path.Child("namespaces"))...)
	}
	errs = append(errs, maxItems(len(ar.Kinds), 8, path.Child("kinds"))...)
	for i, k := range ar.Kinds {
		p := path.Child("kinds").Index(i)
		errs = append(errs, gwGroup(deref(k.Group), p.Child("group"))...)
		errs = append(errs, gwKind(k.Kind, p.Child("kind"))...)
	}
	return errs
}

func validateFrom(from *gatewayv1.FromNamespaces, selector *metav1.LabelSelector, allowed []gatewayv1.FromNamespaces, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f := deref(from); !slices.Contains(allowed, f) {
		errs = append(errs, field.NotSupported(path.Child("from"), f, allowed))
	}
	if selector != nil {
		opts := metav1validation.LabelSelectorValidationOptions{}
		errs = append(errs, metav1validation.ValidateLabelSelector(selector, opts, path.Child("selector"))...)
	}
	return errs
}

func validateGatewayAddresses(addrs []gatewayv1.GatewaySpecAddress, path *field.Path) field.ErrorList {
	errs := maxItems(len(addrs), 16, path)
	seen := map[string]bool{}
	for i, a := range addrs {
		p := path.Index(i)
		t := deref(a.Type)
		if !addressTypePattern.MatchString(string(t)) || len(t) > 253 {
			errs = append(errs, field.Invalid(p.Child("type"), t, "must be Hostname, IPAddress, NamedAddress or a domain-prefixed type"))
		}
		if len(a.Value) > 253 {
			errs = append(errs, field.TooLong(p.Child("value"), a.Value, 253))
		}
		if t == gatewayv1.HostnameAddressType && a.Value != "" {
			errs = append(errs, gwHostname(gatewayv1.Hostname(a.Value), p.Child("value"))...)
		}
		if (t == gatewayv1.IPAddressType || t == gatewayv1.HostnameAddressType) && a.Value != "" {
			// IPAddress and Hostname values must be unique within their type.
			key := string(t) + "/" + a.Value
			if seen[key] {
				errs = append(errs, field.Duplicate(p.Child("value"), a.Value))
			}
			seen[key] = true
		}
	}
	return errs
}

// itemCount checks the number of items of a list that the schema bounds on both sides.
func itemCount(n, minItems, maxN int, path *field.Path) field.ErrorList {
	switch {
	case n < minItems && n == 0:
		return field.ErrorList{field.Required(path, "")}
	case n < minItems:
		return field.ErrorList{field.TooFew(path, n, minItems)}
	case n > maxN:
		return field.ErrorList{field.TooMany(path, n, maxN)}
	}
	return nil
}
