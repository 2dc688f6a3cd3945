package resource

import (
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// HTTPConnectionManager is the network filter that serves HTTP: where its routes come from
// and the HTTP filters requests go through.
type HTTPConnectionManager struct {
	// StatPrefix names the filter in stats.
	StatPrefix string
	// RouteConfigName is the RDS resource to fetch; "" when routes are inline or scoped.
	RouteConfigName string
	// RouteConfig is the inline route configuration; nil unless routes are inline.
	RouteConfig *RouteConfiguration
	// ScopedRoutes is set when routes come from scoped RDS, which this package leaves to
	// the proto.
	ScopedRoutes bool
	// HTTPFilters are the HTTP filters, in order; the last is normally the router.
	HTTPFilters []HTTPFilter
	pb          *hcmv3.HttpConnectionManager
}

// Message returns the filter's proto. It is shared: do not modify it.
func (h *HTTPConnectionManager) Message() *hcmv3.HttpConnectionManager { return h.pb }

// HTTPFilter is one HTTP filter of a connection manager.
type HTTPFilter struct {
	// Name is the filter's name; per-route configs refer to the filter by it.
	Name string
	// TypedConfig is the filter's config; nil when it comes from extension config
	// discovery.
	TypedConfig *anypb.Any
	// Optional lets a proxy that does not know the filter skip it instead of rejecting
	// the configuration.
	Optional bool
	// Disabled filters run only where a route or virtual host enables them.
	Disabled bool
}

// buildHTTPConnectionManager decodes a network filter config when it is an HTTP connection
// manager, returning nil for any other filter.
func buildHTTPConnectionManager(ps *problems, at *path, a *anypb.Any) *HTTPConnectionManager {
	m := new(hcmv3.HttpConnectionManager)
	if !holds(a, m) || !unpackNested(ps, at, a, m) {
		return nil
	}
	out := &HTTPConnectionManager{StatPrefix: m.GetStatPrefix(), pb: m}
	switch r := m.GetRouteSpecifier().(type) {
	case *hcmv3.HttpConnectionManager_Rds:
		out.RouteConfigName = r.Rds.GetRouteConfigName()
	case *hcmv3.HttpConnectionManager_RouteConfig:
		rat := at.at("route_config")
		out.RouteConfig = buildRouteConfigurationAt(r.RouteConfig,
			meta{name: r.RouteConfig.GetName(), typeURL: RouteConfigurationTypeURL, msg: r.RouteConfig}, ps, &rat)
	case *hcmv3.HttpConnectionManager_ScopedRoutes:
		out.ScopedRoutes = true
	}
	for _, f := range m.GetHttpFilters() {
		out.HTTPFilters = append(out.HTTPFilters, HTTPFilter{
			Name:        f.GetName(),
			TypedConfig: f.GetTypedConfig(),
			Optional:    f.GetIsOptional(),
			Disabled:    f.GetDisabled(),
		})
	}
	return out
}
