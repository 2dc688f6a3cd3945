package envoyroute

import (
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// configScope is what the route configuration gives every virtual host.
type configScope struct {
	// mostSpecificWins reverses the order in which header mutations apply: the
	// configuration's first and the route's last, so that the route's win.
	mostSpecificWins bool
	maxBody          uint32
	requestHeaders   *table.HeaderOps
	responseHeaders  *table.HeaderOps
	mirrors          []*table.Mirror
}

// newConfigScope translates the route configuration's own fields.
func newConfigScope(rc *routev3.RouteConfiguration) (*configScope, error) {
	if err := routeConfigurationFields.check("", rc); err != nil {
		return nil, err
	}
	cfg := &configScope{mostSpecificWins: rc.GetMostSpecificHeaderMutationsWins(), maxBody: defaultMaxDirectResponseBody}
	if m := rc.GetMaxDirectResponseBodySizeBytes(); m != nil {
		cfg.maxBody = m.GetValue()
	}
	var err error
	if cfg.requestHeaders, err = headerOps("request_headers", rc.GetRequestHeadersToAdd(), rc.GetRequestHeadersToRemove()); err != nil {
		return nil, err
	}
	if cfg.responseHeaders, err = headerOps("response_headers", rc.GetResponseHeadersToAdd(), rc.GetResponseHeadersToRemove()); err != nil {
		return nil, err
	}
	if cfg.mirrors, err = mirrorPolicies("request_mirror_policies", rc.GetRequestMirrorPolicies()); err != nil {
		return nil, err
	}
	return cfg, nil
}

// vhostScope is what a virtual host gives each of its routes.
type vhostScope struct {
	name string
	// requestHeaders are the virtual host's request mutations (configuration's folded in)
	// when they can stay on the virtual host; see newVhostScope.
	requestHeaders *table.HeaderOps
	// requestBefore, responseBefore and responseAfter are folded into every route's
	// mutations, before or after the route's own.
	requestBefore, responseBefore, responseAfter *table.HeaderOps
	// retry and perTry are the virtual host's retry policy, for routes without one.
	retry   *table.Retry
	perTry  time.Duration
	mirrors []*table.Mirror
	maxBody uint32
}

// newVhostScope translates a virtual host's own fields.
//
// Envoy applies header mutations route first, then virtual host, then route
// configuration, to requests and responses alike (the reverse with
// most_specific_header_mutations_wins). The table applies a virtual host's request
// mutations after the route's, which agrees, so in the default order they stay on the
// virtual host with the configuration's folded in: that is how the configuration's
// mutations reach every virtual host. The table applies a virtual host's response
// mutations before the route's, which does not agree, so those (and everything in the
// reversed order) are folded into each route's.
func (t *translator) newVhostScope(vh *routev3.VirtualHost) (*vhostScope, error) {
	if err := virtualHostFields.check("", vh); err != nil {
		return nil, err
	}
	sc := &vhostScope{name: vh.GetName(), maxBody: t.cfg.maxBody}
	req, err := headerOps("request_headers", vh.GetRequestHeadersToAdd(), vh.GetRequestHeadersToRemove())
	if err != nil {
		return nil, err
	}
	resp, err := headerOps("response_headers", vh.GetResponseHeadersToAdd(), vh.GetResponseHeadersToRemove())
	if err != nil {
		return nil, err
	}
	if t.cfg.mostSpecificWins {
		sc.requestBefore = fold(t.cfg.requestHeaders, req)
		sc.responseBefore = fold(t.cfg.responseHeaders, resp)
	} else {
		sc.requestHeaders = fold(req, t.cfg.requestHeaders)
		sc.responseAfter = fold(resp, t.cfg.responseHeaders)
	}
	if sc.retry, sc.perTry, err = retryPolicy("retry_policy", vh.GetRetryPolicy()); err != nil {
		return nil, err
	}
	sc.mirrors = t.cfg.mirrors
	if len(vh.GetRequestMirrorPolicies()) > 0 {
		if sc.mirrors, err = mirrorPolicies("request_mirror_policies", vh.GetRequestMirrorPolicies()); err != nil {
			return nil, err
		}
	}
	return sc, nil
}
