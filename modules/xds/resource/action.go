package resource

import (
	"math"
	"net/http"
	"regexp"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// ActionKind says what a route does with the requests it matches.
type ActionKind uint8

// The route actions. The first four forward to a cluster and set Route.Forward.
const (
	// ActionCluster forwards to the cluster RouteAction.Cluster.
	ActionCluster ActionKind = iota + 1
	// ActionWeightedClusters splits requests among RouteAction.WeightedClusters.
	ActionWeightedClusters
	// ActionClusterHeader forwards to the cluster a request header names.
	ActionClusterHeader
	// ActionClusterSpecifierPlugin lets an extension choose the cluster.
	ActionClusterSpecifierPlugin
	// ActionRedirect answers with a redirect; Route.Redirect is set.
	ActionRedirect
	// ActionDirectResponse answers from the route itself; Route.DirectResponse is set.
	ActionDirectResponse
	// ActionNonForwarding lets HTTP filters handle the request without forwarding it.
	ActionNonForwarding
	// ActionFilter is a filter-specific action this package does not interpret.
	ActionFilter
)

var actionKindNames = []string{"", "Cluster", "WeightedClusters", "ClusterHeader", "ClusterSpecifierPlugin",
	"Redirect", "DirectResponse", "NonForwarding", "FilterAction"}

// String returns the kind's name.
func (k ActionKind) String() string { return enumString(actionKindNames, int(k)) }

// MarshalText makes JSON show the kind's name.
func (k ActionKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// defaultRouteTimeout is Envoy's timeout for a route that sets none.
const defaultRouteTimeout = 15 * time.Second

// RouteAction is how a route forwards a request upstream.
type RouteAction struct {
	// Cluster is the target, for ActionCluster.
	Cluster string
	// ClusterHeader names the request header holding the target, for
	// ActionClusterHeader.
	ClusterHeader string
	// ClusterSpecifierPlugin names the plugin choosing the target, for
	// ActionClusterSpecifierPlugin.
	ClusterSpecifierPlugin string
	// WeightedClusters are the targets and their weights, for ActionWeightedClusters.
	WeightedClusters []ClusterWeight
	// TotalWeight is the sum of the weights, which is what each weight is relative to. It
	// is always in [1, math.MaxUint32] for ActionWeightedClusters.
	TotalWeight uint64
	// Timeout bounds the whole request, with Envoy's default of 15 s applied when unset;
	// 0 means no timeout, as in Envoy.
	Timeout time.Duration
	// PrefixRewrite replaces the matched prefix (or path) before forwarding, when not "".
	PrefixRewrite string
	// RegexRewrite rewrites the path by regular expression, when set.
	RegexRewrite *RegexRewrite
	// HostRewrite replaces the Host header with a literal, when not "".
	HostRewrite string
	// AutoHostRewrite replaces the Host header with the chosen upstream host's name.
	AutoHostRewrite bool
}

// ClusterWeight is one target of a weighted split.
type ClusterWeight struct {
	// Name is the cluster; "" when ClusterHeader is used.
	Name string
	// ClusterHeader names the request header holding the cluster.
	ClusterHeader string
	// Weight is relative to RouteAction.TotalWeight.
	Weight uint32
}

// RegexRewrite is a regex_rewrite: every match of Regex in the path is replaced by
// Substitution. Substitution uses RE2's \1 syntax for groups, not Go's ${1}.
type RegexRewrite struct {
	// Regex is compiled unanchored: it searches, it does not match the whole path.
	Regex *regexp.Regexp
	// Substitution replaces each match.
	Substitution string
}

// RedirectAction is a route answering with an HTTP redirect.
type RedirectAction struct {
	// Scheme replaces the scheme when not "" ("https" for https_redirect).
	Scheme string
	// Host replaces the host when not "".
	Host string
	// Port replaces the port when not 0.
	Port uint32
	// Path replaces the whole path when not "".
	Path string
	// PrefixRewrite replaces the matched prefix when not "".
	PrefixRewrite string
	// RegexRewrite rewrites the path by regular expression, when set.
	RegexRewrite *RegexRewrite
	// StripQuery drops the query string.
	StripQuery bool
	// ResponseCode is the HTTP status: 301, 302, 303, 307 or 308.
	ResponseCode int
}

// DirectResponseAction is a route answering by itself.
type DirectResponseAction struct {
	// Status is the HTTP status code.
	Status uint32
	// Body is the response body; Kind is DataNone for an empty body.
	Body DataSource
}

// redirectCodes maps the proto's redirect codes to HTTP statuses. The proto's enum is open,
// so a server can send a number outside it; that is rejected rather than guessed.
var redirectCodes = map[routev3.RedirectAction_RedirectResponseCode]int{
	routev3.RedirectAction_MOVED_PERMANENTLY:  http.StatusMovedPermanently,
	routev3.RedirectAction_FOUND:              http.StatusFound,
	routev3.RedirectAction_SEE_OTHER:          http.StatusSeeOther,
	routev3.RedirectAction_TEMPORARY_REDIRECT: http.StatusTemporaryRedirect,
	routev3.RedirectAction_PERMANENT_REDIRECT: http.StatusPermanentRedirect,
}

// buildAction fills the action of a route view.
func buildAction(ps *problems, at *path, r *routev3.Route, out *Route) {
	switch a := r.GetAction().(type) {
	case *routev3.Route_Route:
		rat := at.at("route")
		out.Action, out.Forward = buildRouteAction(ps, &rat, a.Route)
	case *routev3.Route_Redirect:
		rat := at.at("redirect")
		out.Action, out.Redirect = ActionRedirect, buildRedirect(ps, &rat, a.Redirect)
	case *routev3.Route_DirectResponse:
		out.Action = ActionDirectResponse
		out.DirectResponse = &DirectResponseAction{
			Status: a.DirectResponse.GetStatus(),
			Body:   buildDataSource(a.DirectResponse.GetBody()),
		}
	case *routev3.Route_NonForwardingAction:
		out.Action = ActionNonForwarding
	case *routev3.Route_FilterAction:
		out.Action = ActionFilter
	}
}

// buildRouteAction flattens a forwarding action.
func buildRouteAction(ps *problems, at *path, a *routev3.RouteAction) (ActionKind, *RouteAction) {
	tat := at.at("timeout")
	out := &RouteAction{
		Timeout:         durationOr(ps, &tat, a.GetTimeout(), defaultRouteTimeout),
		PrefixRewrite:   a.GetPrefixRewrite(),
		HostRewrite:     a.GetHostRewriteLiteral(),
		AutoHostRewrite: a.GetAutoHostRewrite().GetValue(),
	}
	if a.GetRegexRewrite() != nil {
		rat := at.at("regex_rewrite")
		out.RegexRewrite = buildRegexRewrite(ps, &rat, a.GetRegexRewrite())
	}
	var kind ActionKind
	switch c := a.GetClusterSpecifier().(type) {
	case *routev3.RouteAction_Cluster:
		kind, out.Cluster = ActionCluster, c.Cluster
	case *routev3.RouteAction_ClusterHeader:
		kind, out.ClusterHeader = ActionClusterHeader, c.ClusterHeader
	case *routev3.RouteAction_WeightedClusters:
		wat := at.at("weighted_clusters")
		kind = ActionWeightedClusters
		out.WeightedClusters, out.TotalWeight = buildWeightedClusters(ps, &wat, c.WeightedClusters)
	case *routev3.RouteAction_ClusterSpecifierPlugin:
		kind, out.ClusterSpecifierPlugin = ActionClusterSpecifierPlugin, c.ClusterSpecifierPlugin
	case *routev3.RouteAction_InlineClusterSpecifierPlugin:
		kind = ActionClusterSpecifierPlugin
		out.ClusterSpecifierPlugin = c.InlineClusterSpecifierPlugin.GetExtension().GetName()
	}
	return kind, out
}

// buildWeightedClusters flattens a weighted split, checking what Envoy checks: the weights
// must add up to something in [1, 2^32-1], or no request could be sent anywhere (or the
// arithmetic would wrap), and each target names a cluster or a header but not both.
func buildWeightedClusters(ps *problems, at *path, w *routev3.WeightedCluster) ([]ClusterWeight, uint64) {
	cs := at.at("clusters")
	out := make([]ClusterWeight, len(w.GetClusters()))
	var total uint64
	for i, c := range w.GetClusters() {
		out[i] = ClusterWeight{Name: c.GetName(), ClusterHeader: c.GetClusterHeader(), Weight: c.GetWeight().GetValue()}
		total += uint64(out[i].Weight)
		if (out[i].Name == "") == (out[i].ClusterHeader == "") {
			cat := cs.item(i)
			ps.addf(&cat, "exactly one of name and cluster_header must be set")
		}
	}
	switch {
	case total == 0:
		ps.addf(at, "total weight is 0; it must be greater than 0")
	case total > math.MaxUint32:
		ps.addf(at, "total weight %d overflows %d", total, uint64(math.MaxUint32))
	}
	return out, total
}

// buildRedirect flattens a redirect, rejecting a response code outside the proto's enum.
func buildRedirect(ps *problems, at *path, r *routev3.RedirectAction) *RedirectAction {
	out := &RedirectAction{
		Host:          r.GetHostRedirect(),
		Port:          r.GetPortRedirect(),
		Path:          r.GetPathRedirect(),
		PrefixRewrite: r.GetPrefixRewrite(),
		StripQuery:    r.GetStripQuery(),
	}
	switch s := r.GetSchemeRewriteSpecifier().(type) {
	case *routev3.RedirectAction_HttpsRedirect:
		if s.HttpsRedirect {
			out.Scheme = "https"
		}
	case *routev3.RedirectAction_SchemeRedirect:
		out.Scheme = s.SchemeRedirect
	}
	if r.GetRegexRewrite() != nil {
		rat := at.at("regex_rewrite")
		out.RegexRewrite = buildRegexRewrite(ps, &rat, r.GetRegexRewrite())
	}
	code, ok := redirectCodes[r.GetResponseCode()]
	if !ok {
		cat := at.at("response_code")
		ps.addf(&cat, "redirect response code %d is not one of the defined codes (301, 302, 303, 307, 308)", int32(r.GetResponseCode()))
	}
	out.ResponseCode = code
	return out
}

// buildRegexRewrite compiles a regex_rewrite's pattern.
func buildRegexRewrite(ps *problems, at *path, r *matcherv3.RegexMatchAndSubstitute) *RegexRewrite {
	pat := at.at("pattern")
	re := compileSearchRegex(ps, &pat, r.GetPattern().GetRegex())
	return &RegexRewrite{Regex: re, Substitution: r.GetSubstitution()}
}
