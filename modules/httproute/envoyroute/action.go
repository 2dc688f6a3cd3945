package envoyroute

import (
	"errors"
	"fmt"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// forward translates a route action that forwards to a cluster or a weighted split. The
// view supplies the clusters, weights (checked to add up), rewrites (regexes compiled) and
// the timeout with Envoy's default of 15 s applied (0 is none, in both models); the proto
// supplies the rest. Retry and mirror policies left unset on the route come from the
// virtual host, then (mirrors) the route configuration, as in Envoy, where the most
// specific non-empty one wins whole.
func (t *translator) forward(sc *vhostScope, r *resource.Route, path *table.PathMatch, res *routeResult) (*table.Forward, error) {
	pb := r.Message().GetRoute()
	if err := routeActionFields.check("route", pb); err != nil {
		return nil, err
	}
	if err := upgradeConfigs(pb.GetUpgradeConfigs()); err != nil {
		return nil, err
	}
	v := r.Forward
	fw := &table.Forward{Timeout: v.Timeout}
	var err error
	if fw.Backends, err = t.backends(pb, v, res); err != nil {
		return nil, err
	}
	if fw.Rewrite, err = rewrite(v, path); err != nil {
		return nil, err
	}
	fw.Retry, fw.BackendTimeout = sc.retry, sc.perTry
	if pb.GetRetryPolicy() != nil {
		if fw.Retry, fw.BackendTimeout, err = retryPolicy("route.retry_policy", pb.GetRetryPolicy()); err != nil {
			return nil, err
		}
	}
	if res.hashKey, res.hashSet, err = hashKey("route.hash_policy", pb.GetHashPolicy()); err != nil {
		return nil, err
	}
	mirrors := sc.mirrors
	if len(pb.GetRequestMirrorPolicies()) > 0 {
		if mirrors, err = mirrorPolicies("route.request_mirror_policies", pb.GetRequestMirrorPolicies()); err != nil {
			return nil, err
		}
	}
	res.route.Mirrors = t.mirrors(mirrors, res)
	return fw, nil
}

// backends translates the cluster or the weighted split. A single cluster gets weight 1,
// since the table never sends to weight 0.
func (t *translator) backends(pb *routev3.RouteAction, v *resource.RouteAction, res *routeResult) ([]*table.Backend, error) {
	if v.Cluster != "" {
		return []*table.Backend{t.backend(v.Cluster, 1, res)}, nil
	}
	wc := pb.GetWeightedClusters()
	if wc == nil {
		return nil, errors.New("route: no cluster")
	}
	if err := weightedClusterFields.check("route.weighted_clusters", wc); err != nil {
		return nil, err
	}
	// The deprecated total_weight, when set, must be the sum of the weights; Envoy
	// refuses the route otherwise.
	//lint:ignore SA1019 older control planes still send total_weight, and Envoy checks it.
	if tw := wc.GetTotalWeight(); tw != nil && tw.GetValue() > 0 && uint64(tw.GetValue()) != v.TotalWeight {
		return nil, fmt.Errorf("route.weighted_clusters.total_weight: %d is not the sum of the weights, %d", tw.GetValue(), v.TotalWeight)
	}
	out := make([]*table.Backend, len(wc.GetClusters()))
	for i, c := range wc.GetClusters() {
		at := fmt.Sprintf("route.weighted_clusters.clusters[%d]", i)
		if err := clusterWeightFields.check(at, c); err != nil {
			return nil, err
		}
		b := t.backend(c.GetName(), v.WeightedClusters[i].Weight, res)
		var err error
		if b.RequestHeaders, err = headerOps(at+".request_headers", c.GetRequestHeadersToAdd(), c.GetRequestHeadersToRemove()); err != nil {
			return nil, err
		}
		if b.ResponseHeaders, err = headerOps(at+".response_headers", c.GetResponseHeadersToAdd(), c.GetResponseHeadersToRemove()); err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// backend makes the backend for a cluster, marked Invalid when the cluster cannot be
// translated, so that only the requests that pick it fail.
func (t *translator) backend(name string, weight uint32, res *routeResult) *table.Backend {
	res.backends = append(res.backends, name)
	if err := t.cluster(name).err; err != nil {
		return &table.Backend{Weight: weight, Invalid: fmt.Sprintf("cluster %q cannot be served: %v", name, err)}
	}
	return &table.Backend{Cluster: name, Weight: weight}
}

// rewrite translates the path and host rewrites.
//
// Envoy's prefix_rewrite replaces "the matched prefix (or path)": with a prefix or
// path_separated_prefix match it is the table's PrefixReplacement, and with an exact path
// match, whose matched prefix is the whole path, it is FullPath. A regular expression match
// has no matched prefix, so prefix_rewrite there is an error.
func rewrite(v *resource.RouteAction, path *table.PathMatch) (*table.Rewrite, error) {
	if v.PrefixRewrite != "" && v.RegexRewrite != nil {
		return nil, errors.New("route: prefix_rewrite and regex_rewrite are both set")
	}
	rw := &table.Rewrite{Host: v.HostRewrite}
	if p := v.PrefixRewrite; p != "" {
		switch path.Kind {
		case table.PathPrefix, table.PathSegmentPrefix:
			rw.PrefixReplacement = &p
		case table.PathExact:
			rw.FullPath = &p
		default:
			return nil, fmt.Errorf("route.prefix_rewrite: needs a prefix, path_separated_prefix or path match, not %s", path.Kind)
		}
	}
	if re := v.RegexRewrite; re != nil && re.Regex != nil {
		rw.Regex = &table.RegexRewrite{Pattern: re.Regex.String(), Substitution: re.Substitution}
	}
	if *rw == (table.Rewrite{}) {
		return nil, nil
	}
	return rw, nil
}

// upgradeConfigs accepts what the runtime does anyway: it proxies WebSocket upgrades
// whenever a client asks. Disabling them, or any other upgrade (CONNECT, custom protocols),
// cannot be expressed.
func upgradeConfigs(us []*routev3.RouteAction_UpgradeConfig) error {
	for i, u := range us {
		at := fmt.Sprintf("route.upgrade_configs[%d]", i)
		if err := upgradeConfigFields.check(at, u); err != nil {
			return err
		}
		if !strings.EqualFold(u.GetUpgradeType(), "websocket") {
			return fmt.Errorf("%s: upgrade type %q is not supported", at, u.GetUpgradeType())
		}
		if u.GetEnabled() != nil && !u.GetEnabled().GetValue() {
			return fmt.Errorf("%s: disabling WebSocket upgrades is not supported", at)
		}
	}
	return nil
}
