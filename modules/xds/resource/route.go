package resource

import (
	"encoding/json"
	"regexp"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
)

// RouteConfiguration is an RDS resource (or the inline route_config of an HTTP connection
// manager): the virtual hosts an HTTP listener routes with.
type RouteConfiguration struct {
	meta
	// VirtualHosts are in the order the server sent them. Their domains are unique across
	// the configuration, compared case-insensitively.
	VirtualHosts []VirtualHost
}

// MarshalJSON shows the view's fields with its name and type URL, for the admin API and
// logs. The proto and raw bytes are left out.
func (r *RouteConfiguration) MarshalJSON() ([]byte, error) {
	type fields RouteConfiguration
	return json.Marshal(struct {
		Name, TypeURL string
		*fields
	}{r.name, r.typeURL, (*fields)(r)})
}

// Proto returns the decoded proto.
func (r *RouteConfiguration) Proto() proto.Message { return r.msg }

// Message returns the decoded proto, typed. It is shared: do not modify it.
func (r *RouteConfiguration) Message() *routev3.RouteConfiguration {
	return r.msg.(*routev3.RouteConfiguration)
}

// VirtualHost is a set of domains and the routes tried, in order, for requests to them.
type VirtualHost struct {
	// Name identifies the virtual host in stats and errors.
	Name string
	// Domains are the host names served, as sent: exact names, "*.suffix", "prefix.*" or
	// "*", optionally with a port.
	Domains []string
	// Routes are tried in order; the first that matches wins.
	Routes []Route
	pb     *routev3.VirtualHost
}

// Message returns the virtual host's proto, for fields this view does not flatten. It is
// shared: do not modify it.
func (v *VirtualHost) Message() *routev3.VirtualHost { return v.pb }

// Route is one match and what to do with the requests it matches.
type Route struct {
	// Name identifies the route in stats and errors; it is optional.
	Name string
	// Match is the route's condition.
	Match RouteMatch
	// Action says which of Forward, Redirect and DirectResponse is set.
	Action ActionKind
	// Forward is set for the actions that send the request to a cluster.
	Forward *RouteAction
	// Redirect is set for ActionRedirect.
	Redirect *RedirectAction
	// DirectResponse is set for ActionDirectResponse.
	DirectResponse *DirectResponseAction
	pb             *routev3.Route
}

// Message returns the route's proto, for fields this view does not flatten (per-filter
// configs, header mutations, retry policies). It is shared: do not modify it.
func (r *Route) Message() *routev3.Route { return r.pb }

// PathMatchKind says how a route matches the request path.
type PathMatchKind uint8

// The path match kinds.
const (
	// PathPrefix matches paths that start with Path.
	PathPrefix PathMatchKind = iota + 1
	// PathExact matches the path Path exactly (the proto's "path").
	PathExact
	// PathSafeRegex matches paths that Regex matches whole.
	PathSafeRegex
	// PathSeparatedPrefix matches Path and paths that continue it with '/', '?' or '#'.
	PathSeparatedPrefix
	// PathConnect matches CONNECT requests, whatever their path.
	PathConnect
	// PathMatchPolicy is a typed extension matcher; Path holds its name.
	PathMatchPolicy
)

var pathMatchKindNames = []string{"", "Prefix", "Path", "SafeRegex", "PathSeparatedPrefix", "Connect", "PathMatchPolicy"}

// String returns the kind's name, as the proto's oneof member calls it.
func (k PathMatchKind) String() string { return enumString(pathMatchKindNames, int(k)) }

// MarshalText makes JSON show the kind's name.
func (k PathMatchKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// RouteMatch is a route's condition: a path match and further header and query conditions
// that must all hold.
type RouteMatch struct {
	// Kind says how Path is compared.
	Kind PathMatchKind
	// Path is the prefix, path or regular expression pattern.
	Path string
	// Regex is Path compiled for whole-path matching, for PathSafeRegex.
	Regex *regexp.Regexp
	// CaseSensitive applies to prefix and path matches; Envoy's default is true.
	CaseSensitive bool
	// Headers must all match.
	Headers []HeaderMatcher
	// QueryParameters must all match.
	QueryParameters []QueryParameterMatcher
	// GRPC restricts the route to gRPC requests (content-type application/grpc).
	GRPC bool
}

// buildRouteConfiguration builds the view of a route configuration, checking that no
// domain is served by two virtual hosts: Envoy rejects such a configuration because which
// one a request reaches would be arbitrary.
func buildRouteConfiguration(m *routev3.RouteConfiguration, base meta, ps *problems) *RouteConfiguration {
	return buildRouteConfigurationAt(m, base, ps, nil)
}

// buildRouteConfigurationAt builds a route configuration found at a path, as the inline
// route_config of an HTTP connection manager.
func buildRouteConfigurationAt(m *routev3.RouteConfiguration, base meta, ps *problems, at *path) *RouteConfiguration {
	rc := &RouteConfiguration{meta: base}
	vhs := at.at("virtual_hosts")
	seen := make(map[string]int)
	rc.VirtualHosts = make([]VirtualHost, len(m.GetVirtualHosts()))
	for i, vh := range m.GetVirtualHosts() {
		vat := vhs.item(i)
		rc.VirtualHosts[i] = buildVirtualHost(ps, &vat, vh)
		domains := vat.at("domains")
		for j, d := range vh.GetDomains() {
			key := strings.ToLower(d)
			if first, dup := seen[key]; dup {
				dat := domains.item(j)
				ps.addf(&dat, "domain %q is already served by virtual host %q", d, m.GetVirtualHosts()[first].GetName())
				continue
			}
			seen[key] = i
		}
	}
	return rc
}

// buildVirtualHost builds the view of one virtual host.
func buildVirtualHost(ps *problems, at *path, vh *routev3.VirtualHost) VirtualHost {
	out := VirtualHost{Name: vh.GetName(), Domains: vh.GetDomains(), pb: vh}
	routes := at.at("routes")
	out.Routes = make([]Route, len(vh.GetRoutes()))
	for i, r := range vh.GetRoutes() {
		rat := routes.item(i)
		out.Routes[i] = buildRoute(ps, &rat, r)
	}
	return out
}

// buildRoute builds the view of one route.
func buildRoute(ps *problems, at *path, r *routev3.Route) Route {
	mat := at.at("match")
	out := Route{Name: r.GetName(), Match: buildRouteMatch(ps, &mat, r.GetMatch()), pb: r}
	buildAction(ps, at, r, &out)
	return out
}

// buildRouteMatch flattens a route's match, compiling every regular expression in it.
func buildRouteMatch(ps *problems, at *path, m *routev3.RouteMatch) RouteMatch {
	out := RouteMatch{
		CaseSensitive: m.GetCaseSensitive() == nil || m.GetCaseSensitive().GetValue(),
		GRPC:          m.GetGrpc() != nil,
	}
	switch p := m.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix:
		out.Kind, out.Path = PathPrefix, p.Prefix
	case *routev3.RouteMatch_Path:
		out.Kind, out.Path = PathExact, p.Path
	case *routev3.RouteMatch_SafeRegex:
		re := at.at("safe_regex")
		out.Kind, out.Path = PathSafeRegex, p.SafeRegex.GetRegex()
		out.Regex = compileRegex(ps, &re, out.Path)
	case *routev3.RouteMatch_PathSeparatedPrefix:
		out.Kind, out.Path = PathSeparatedPrefix, p.PathSeparatedPrefix
	case *routev3.RouteMatch_ConnectMatcher_:
		out.Kind = PathConnect
	case *routev3.RouteMatch_PathMatchPolicy:
		out.Kind, out.Path = PathMatchPolicy, p.PathMatchPolicy.GetName()
	}
	if n := len(m.GetHeaders()); n > 0 {
		hs := at.at("headers")
		out.Headers = make([]HeaderMatcher, n)
		for i, h := range m.GetHeaders() {
			hat := hs.item(i)
			out.Headers[i] = buildHeaderMatcher(ps, &hat, h)
		}
	}
	if n := len(m.GetQueryParameters()); n > 0 {
		qs := at.at("query_parameters")
		out.QueryParameters = make([]QueryParameterMatcher, n)
		for i, q := range m.GetQueryParameters() {
			qat := qs.item(i)
			out.QueryParameters[i] = buildQueryParameterMatcher(ps, &qat, q)
		}
	}
	return out
}
