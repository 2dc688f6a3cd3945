package envoyroute

import (
	"errors"
	"fmt"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// virtualHost translates one virtual host and its routes into the table.
func (t *translator) virtualHost(d *decodedVirtualHost) {
	name := d.pb.GetName()
	fail := func(err error) { t.errs = append(t.errs, fmt.Errorf("virtual host %q: %w", name, err)) }
	if d.err != nil {
		fail(d.err)
		return
	}
	if t.names[name] {
		// Envoy refuses a configuration that repeats a name; here the first keeps it.
		fail(errors.New("the name is already used by another virtual host"))
		return
	}
	sc, err := t.newVhostScope(d.pb)
	if err != nil {
		fail(err)
		return
	}
	t.names[name] = true
	domains, errs := t.domains.claim(name, d.pb.GetDomains())
	t.errs = append(t.errs, errs...)
	if len(domains) == 0 {
		// Every domain was refused, and each refusal is reported.
		return
	}
	out := &table.VirtualHost{Name: name, Domains: domains, RequestHeaders: sc.requestHeaders}
	for j := range d.routes {
		r, err := t.routeAt(sc, j, &d.routes[j])
		if err != nil {
			t.errs = append(t.errs, err)
			continue
		}
		out.Routes = append(out.Routes, r)
	}
	t.tbl.VirtualHosts = append(t.tbl.VirtualHosts, out)
}

// routeAt translates and commits the route at index j, wrapping its error with where it
// is.
func (t *translator) routeAt(sc *vhostScope, j int, d *decodedRoute) (*table.Route, error) {
	err := d.err
	var res *routeResult
	if err == nil {
		res, err = t.route(sc, j, d.view)
	}
	if err == nil {
		err = t.commit(res)
	}
	if err != nil {
		where := fmt.Sprintf("virtual host %q route %d", sc.name, j)
		if d.name != "" {
			where += fmt.Sprintf(" %q", d.name)
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return res.route, nil
}

// routeResult is a translated route with what it needs from the clusters, checked and
// recorded only if the route is accepted.
type routeResult struct {
	route *table.Route
	// backends and mirrors are the clusters the route names.
	backends, mirrors []string
	// hashKey is the route's hash policy key, when hashSet.
	hashKey string
	hashSet bool
}

// route translates one route. Its name is the route's own, or "<virtual host> route <j>"
// when it has none, so that logs can always say which route it is.
func (t *translator) route(sc *vhostScope, j int, v *resource.Route) (*routeResult, error) {
	pb := v.Message()
	if err := routeFields.check("", pb); err != nil {
		return nil, err
	}
	match, err := translateMatch(&v.Match, pb.GetMatch())
	if err != nil {
		return nil, err
	}
	name := pb.GetName()
	if name == "" {
		name = fmt.Sprintf("%s route %d", sc.name, j)
	}
	res := &routeResult{route: &table.Route{Name: name, Match: match}}
	if err := routeHeaders(sc, pb, res.route); err != nil {
		return nil, err
	}
	switch v.Action {
	case resource.ActionCluster, resource.ActionWeightedClusters, resource.ActionClusterHeader, resource.ActionClusterSpecifierPlugin:
		// forward's allow list names the cluster specifiers it does not support.
		res.route.Forward, err = t.forward(sc, v, match.Path, res)
	case resource.ActionRedirect:
		res.route.Redirect, err = redirect(v, match.Path)
	case resource.ActionDirectResponse:
		res.route.DirectResponse, err = directResponse(v, sc.maxBody)
	default:
		// The allow lists refuse the other actions first; this keeps the switch total.
		err = fmt.Errorf("action %v is not supported", v.Action)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// routeHeaders sets a route's header mutations, with its scope's folded in (see
// newVhostScope).
func routeHeaders(sc *vhostScope, pb *routev3.Route, out *table.Route) error {
	req, err := headerOps("request_headers", pb.GetRequestHeadersToAdd(), pb.GetRequestHeadersToRemove())
	if err != nil {
		return err
	}
	resp, err := headerOps("response_headers", pb.GetResponseHeadersToAdd(), pb.GetResponseHeadersToRemove())
	if err != nil {
		return err
	}
	out.RequestHeaders = fold(sc.requestBefore, req)
	out.ResponseHeaders = fold(fold(sc.responseBefore, resp), sc.responseAfter)
	return nil
}
