package envoyroute

import (
	"fmt"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// mirrorPolicies translates request_mirror_policies (of a route, a virtual host or the
// configuration) into mirrors, before their clusters are looked up. A policy's
// runtime_fraction becomes the mirror's Fraction (its default value, as for route
// matches); without one every request is mirrored.
//
// Envoy appends "-shadow" to the Host header of the copy unless
// disable_shadow_host_suffix_append is set. The table has no field for the copy's Host,
// so the runtime's behaviour applies either way; the response to a copy is discarded, so
// only the mirror's own host routing can notice.
func mirrorPolicies(at string, ps []*routev3.RouteAction_RequestMirrorPolicy) ([]*table.Mirror, error) {
	out := make([]*table.Mirror, 0, len(ps))
	for i, p := range ps {
		pat := fmt.Sprintf("%s[%d]", at, i)
		if err := mirrorPolicyFields.check(pat, p); err != nil {
			return nil, err
		}
		m := &table.Mirror{Cluster: p.GetCluster()}
		if rf := p.GetRuntimeFraction(); rf != nil {
			f, err := runtimeFraction(pat+".runtime_fraction", rf)
			if err != nil {
				return nil, err
			}
			m.Fraction = f
		}
		out = append(out, m)
	}
	return out, nil
}

// mirrors gives a route its own copies of the mirrors, leaving out those whose cluster
// cannot be translated: Envoy skips a mirror to a cluster it does not have, and the
// cluster's own error says why.
func (t *translator) mirrors(ms []*table.Mirror, res *routeResult) []*table.Mirror {
	var out []*table.Mirror
	for _, m := range ms {
		res.mirrors = append(res.mirrors, m.Cluster)
		if t.cluster(m.Cluster).err != nil {
			continue
		}
		c := *m
		if m.Fraction != nil {
			f := *m.Fraction
			c.Fraction = &f
		}
		out = append(out, &c)
	}
	return out
}
