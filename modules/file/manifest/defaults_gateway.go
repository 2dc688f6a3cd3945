package manifest

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Defaults of the Gateway API kinds: the +kubebuilder:default markers of
// sigs.k8s.io/gateway-api/apis/v1, applied as the API server's structural defaulting
// applies them: to fields that are absent (nil), never to fields that were written, even
// as empty lists.

func defaultGateway(spec *gatewayv1.GatewaySpec) {
	for i := range spec.Listeners {
		defaultListener(&spec.Listeners[i])
	}
	for i := range spec.Addresses {
		if spec.Addresses[i].Type == nil {
			t := gatewayv1.IPAddressType
			spec.Addresses[i].Type = &t
		}
	}
	if al := spec.AllowedListeners; al != nil {
		if al.Namespaces == nil {
			al.Namespaces = &gatewayv1.ListenerNamespaces{}
		}
		if al.Namespaces.From == nil {
			from := gatewayv1.NamespacesFromNone
			al.Namespaces.From = &from
		}
	}
	if tls := spec.TLS; tls != nil && tls.Backend != nil && tls.Backend.ClientCertificateRef != nil {
		defaultSecretRef(tls.Backend.ClientCertificateRef)
	}
	if tls := spec.TLS; tls != nil && tls.Frontend != nil {
		defaultFrontendValidation(tls.Frontend.Default.Validation)
		for i := range tls.Frontend.PerPort {
			defaultFrontendValidation(tls.Frontend.PerPort[i].TLS.Validation)
		}
	}
}

// defaultListener lets routes attach from the Gateway's own namespace, and terminates TLS,
// unless the listener says otherwise.
func defaultListener(l *gatewayv1.Listener) {
	if l.AllowedRoutes == nil {
		l.AllowedRoutes = &gatewayv1.AllowedRoutes{}
	}
	if l.AllowedRoutes.Namespaces == nil {
		l.AllowedRoutes.Namespaces = &gatewayv1.RouteNamespaces{}
	}
	if l.AllowedRoutes.Namespaces.From == nil {
		from := gatewayv1.NamespacesFromSame
		l.AllowedRoutes.Namespaces.From = &from
	}
	for i := range l.AllowedRoutes.Kinds {
		if l.AllowedRoutes.Kinds[i].Group == nil {
			g := gatewayv1.Group(gatewayv1.GroupName)
			l.AllowedRoutes.Kinds[i].Group = &g
		}
	}
	if l.TLS != nil {
		if l.TLS.Mode == nil {
			mode := gatewayv1.TLSModeTerminate
			l.TLS.Mode = &mode
		}
		for i := range l.TLS.CertificateRefs {
			defaultSecretRef(&l.TLS.CertificateRefs[i])
		}
	}
}

func defaultFrontendValidation(v *gatewayv1.FrontendTLSValidation) {
	if v != nil && v.Mode == "" {
		v.Mode = gatewayv1.AllowValidOnly
	}
}

// defaultHTTPRoute gives a route without rules one rule that matches every request, and a
// rule without matches one match on the path prefix "/".
//
// An explicitly empty list of matches is defaulted too, unlike on an API server: it means
// the same ("match every request"), and the Go types drop empty lists when encoded, so
// only this makes decoding an encoded route give back the same route.
func defaultHTTPRoute(spec *gatewayv1.HTTPRouteSpec) {
	for i := range spec.ParentRefs {
		defaultParentRef(&spec.ParentRefs[i])
	}
	if spec.Rules == nil {
		spec.Rules = []gatewayv1.HTTPRouteRule{{}}
	}
	for i := range spec.Rules {
		defaultHTTPRouteRule(&spec.Rules[i])
	}
}

func defaultHTTPRouteRule(rule *gatewayv1.HTTPRouteRule) {
	if len(rule.Matches) == 0 {
		rule.Matches = []gatewayv1.HTTPRouteMatch{{}}
	}
	for i := range rule.Matches {
		defaultHTTPRouteMatch(&rule.Matches[i])
	}
	for i := range rule.Filters {
		defaultHTTPRouteFilter(&rule.Filters[i])
	}
	for i := range rule.BackendRefs {
		ref := &rule.BackendRefs[i]
		defaultBackendRef(&ref.BackendRef)
		for j := range ref.Filters {
			defaultHTTPRouteFilter(&ref.Filters[j])
		}
	}
}

func defaultHTTPRouteMatch(m *gatewayv1.HTTPRouteMatch) {
	if m.Path == nil {
		m.Path = &gatewayv1.HTTPPathMatch{}
	}
	if m.Path.Type == nil {
		t := gatewayv1.PathMatchPathPrefix
		m.Path.Type = &t
	}
	if m.Path.Value == nil {
		v := "/"
		m.Path.Value = &v
	}
	for i := range m.Headers {
		if m.Headers[i].Type == nil {
			t := gatewayv1.HeaderMatchExact
			m.Headers[i].Type = &t
		}
	}
	for i := range m.QueryParams {
		if m.QueryParams[i].Type == nil {
			t := gatewayv1.QueryParamMatchExact
			m.QueryParams[i].Type = &t
		}
	}
}

func defaultHTTPRouteFilter(f *gatewayv1.HTTPRouteFilter) {
	if r := f.RequestRedirect; r != nil && r.StatusCode == nil {
		code := 302
		r.StatusCode = &code
	}
	if m := f.RequestMirror; m != nil {
		defaultBackendObjectRef(&m.BackendRef)
		if m.Fraction != nil && m.Fraction.Denominator == nil {
			d := int32(100)
			m.Fraction.Denominator = &d
		}
	}
	if c := f.CORS; c != nil && c.MaxAge == 0 {
		c.MaxAge = 5
	}
}

// defaultTLSRoute defaults the references of a TLSRoute; it has no other defaults.
func defaultTLSRoute(spec *gatewayv1.TLSRouteSpec) {
	for i := range spec.ParentRefs {
		defaultParentRef(&spec.ParentRefs[i])
	}
	for i := range spec.Rules {
		for j := range spec.Rules[i].BackendRefs {
			defaultBackendRef(&spec.Rules[i].BackendRefs[j])
		}
	}
}
