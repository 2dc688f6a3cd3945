package resource

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	leastrequestv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/least_request/v3"
	maglevv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/maglev/v3"
	randomv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/random/v3"
	ringhashv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/ring_hash/v3"
	roundrobinv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/round_robin/v3"
	wrrlocalityv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/wrr_locality/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// LBPolicy says how a cluster picks a host.
type LBPolicy uint8

// The load balancing policies.
const (
	// LBRoundRobin cycles through the hosts, by weight. It is Envoy's default.
	LBRoundRobin LBPolicy = iota + 1
	// LBLeastRequest picks the less loaded of random choices.
	LBLeastRequest
	// LBRandom picks at random.
	LBRandom
	// LBMaglev hashes the request onto a Maglev table, for affinity.
	LBMaglev
	// LBRingHash hashes the request onto a consistent hash ring, for affinity.
	LBRingHash
	// LBClusterProvided leaves the choice to the cluster extension.
	LBClusterProvided
	// LBCustom is a load_balancing_policy extension this package does not interpret;
	// Cluster.LBPolicyExtension names it.
	LBCustom
)

var lbPolicyNames = []string{"", "RoundRobin", "LeastRequest", "Random", "Maglev", "RingHash", "ClusterProvided", "Custom"}

// String returns the policy's name.
func (p LBPolicy) String() string { return enumString(lbPolicyNames, int(p)) }

// MarshalText makes JSON show the policy's name.
func (p LBPolicy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// lbPolicies maps the deprecated lb_policy enum. LOAD_BALANCING_POLICY_CONFIG is absent: it
// only says to read load_balancing_policy.
var lbPolicies = map[clusterv3.Cluster_LbPolicy]LBPolicy{
	clusterv3.Cluster_ROUND_ROBIN:      LBRoundRobin,
	clusterv3.Cluster_LEAST_REQUEST:    LBLeastRequest,
	clusterv3.Cluster_RANDOM:           LBRandom,
	clusterv3.Cluster_MAGLEV:           LBMaglev,
	clusterv3.Cluster_RING_HASH:        LBRingHash,
	clusterv3.Cluster_CLUSTER_PROVIDED: LBClusterProvided,
}

// lbExtension is a load_balancing_policy extension that is the typed form of one of the
// enum's policies, with a constructor for its config so that the config is validated too.
type lbExtension struct {
	policy LBPolicy
	config func() message
}

// lbExtensions maps the known load_balancing_policy extensions by their config message.
var lbExtensions = map[protoreflect.FullName]lbExtension{
	fullName(&roundrobinv3.RoundRobin{}):     {LBRoundRobin, func() message { return new(roundrobinv3.RoundRobin) }},
	fullName(&leastrequestv3.LeastRequest{}): {LBLeastRequest, func() message { return new(leastrequestv3.LeastRequest) }},
	fullName(&randomv3.Random{}):             {LBRandom, func() message { return new(randomv3.Random) }},
	fullName(&maglevv3.Maglev{}):             {LBMaglev, func() message { return new(maglevv3.Maglev) }},
	fullName(&ringhashv3.RingHash{}):         {LBRingHash, func() message { return new(ringhashv3.RingHash) }},
}

// maxWrrLocalityDepth bounds how many wrr_locality wrappers are unwrapped. Real
// configurations use one; the bound keeps a hostile resource from recursing at will.
const maxWrrLocalityDepth = 4

// buildLBPolicy sets the cluster's policy. load_balancing_policy, when present, wins over
// lb_policy, as in Envoy; its first policy this package knows is the one used, as in gRPC.
// A wrr_locality wrapper (how gRPC-oriented control planes send locality weighting) is
// unwrapped to the endpoint-picking policy it carries.
func buildLBPolicy(ps *problems, m *clusterv3.Cluster, out *Cluster) {
	if lbp := m.GetLoadBalancingPolicy(); lbp != nil {
		at := rootPath("load_balancing_policy")
		out.LBPolicy, out.LBPolicyExtension = pickLBPolicy(ps, &at, lbp, 0)
		return
	}
	policy, ok := lbPolicies[m.GetLbPolicy()]
	if !ok && m.GetLbPolicy() == clusterv3.Cluster_LOAD_BALANCING_POLICY_CONFIG {
		at := rootPath("lb_policy")
		ps.addf(&at, "LOAD_BALANCING_POLICY_CONFIG needs load_balancing_policy")
	}
	out.LBPolicy = policy
}

// pickLBPolicy returns the first known policy of a load_balancing_policy list, or LBCustom
// and the first policy's type when none is known.
func pickLBPolicy(ps *problems, at *path, lbp *clusterv3.LoadBalancingPolicy, depth int) (LBPolicy, string) {
	policies := at.at("policies")
	for i, p := range lbp.GetPolicies() {
		tc := p.GetTypedExtensionConfig().GetTypedConfig()
		name := string(messageName(tc.GetTypeUrl()))
		item := policies.item(i)
		cat := item.at("typed_extension_config")
		tat := cat.at("typed_config")
		if ext, ok := lbExtensions[messageName(tc.GetTypeUrl())]; ok {
			unpackNested(ps, &tat, tc, ext.config())
			return ext.policy, name
		}
		wrr := new(wrrlocalityv3.WrrLocality)
		if !holds(tc, wrr) {
			continue
		}
		if depth >= maxWrrLocalityDepth {
			ps.addf(&tat, "wrr_locality nested more than %d deep", maxWrrLocalityDepth)
			return LBCustom, name
		}
		if !unpackNested(ps, &tat, tc, wrr) {
			return LBCustom, name
		}
		inner := tat.at("endpoint_picking_policy")
		return pickLBPolicy(ps, &inner, wrr.GetEndpointPickingPolicy(), depth+1)
	}
	if list := lbp.GetPolicies(); len(list) > 0 {
		return LBCustom, string(messageName(list[0].GetTypedExtensionConfig().GetTypedConfig().GetTypeUrl()))
	}
	return LBRoundRobin, ""
}
