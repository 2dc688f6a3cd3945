package envoyroute

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	rawbufferv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/raw_buffer/v3"
	"google.golang.org/protobuf/proto"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// rawBufferType is the message name of the plaintext transport socket's config.
var rawBufferType = string((&rawbufferv3.RawBuffer{}).ProtoReflect().Descriptor().FullName())

// translateCluster translates the cluster a route names. pb is nil when the cluster is not
// in the input: it then becomes an EDS cluster of its own name. That is what Envoy does
// with a cluster it has not received yet: it waits for CDS (and then EDS) rather than
// failing the route configuration, and the runtime likewise has no endpoints until a
// ClusterLoadAssignment of that name arrives. The name is the key of Input.Clusters, which
// wins over the proto's own name.
//
// The cluster is checked by package resource's decoder, and its view supplies the load
// balancing policy (from lb_policy or load_balancing_policy), the connect timeout (with
// Envoy's 5 s default), the upstream protocol and the endpoints.
//
// What a cluster does that the table cannot express splits in two. Fields that would send
// requests somewhere else or in another way (TLS or another transport socket, subset load
// balancing, original-destination and extension cluster types, a custom load balancer, an
// upstream protocol other than HTTP/1.1 or h2c) are errors. Fields that only tune how the
// same endpoints are used (health checks, outlier detection, circuit breakers, endpoint
// and locality weights, the DNS settings) are left to the runtime's defaults.
func translateCluster(name string, pb *clusterv3.Cluster) (*table.Cluster, error) {
	if pb == nil {
		return &table.Cluster{Kind: table.ClusterEDS, EDSName: name}, nil
	}
	raw, err := proto.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("cannot encode: %w", err)
	}
	r, err := resource.Decode(resource.ClusterTypeURL, raw)
	if err != nil {
		return nil, reasons(err)
	}
	v := r.(*resource.Cluster)
	if err := unsupportedClusterFields(pb, v); err != nil {
		return nil, err
	}
	out := &table.Cluster{ConnectTimeout: v.ConnectTimeout}
	if err := discovery(out, name, v); err != nil {
		return nil, err
	}
	if out.LB, err = lbPolicy(v); err != nil {
		return nil, err
	}
	if out.H2C, err = h2c(v.UpstreamProtocol); err != nil {
		return nil, err
	}
	return out, nil
}

// unsupportedClusterFields reports the cluster settings that change where or how requests
// go and that the table has no field for.
func unsupportedClusterFields(pb *clusterv3.Cluster, v *resource.Cluster) error {
	switch {
	case len(pb.GetTransportSocketMatches()) > 0 || pb.GetTransportSocketMatcher() != nil:
		return errors.New("transport_socket_matches are not supported")
	case v.TLS != nil:
		return errors.New("upstream TLS (transport_socket) is not supported")
	case pb.GetTransportSocket() != nil && !isRawBuffer(pb):
		return fmt.Errorf("transport socket %q is not supported", pb.GetTransportSocket().GetName())
	case pb.GetLbSubsetConfig() != nil:
		return errors.New("lb_subset_config is not supported")
	}
	return nil
}

// isRawBuffer reports whether the cluster's transport socket is plaintext, named by its
// config's type or, without a config, by its well-known name.
func isRawBuffer(pb *clusterv3.Cluster) bool {
	ts := pb.GetTransportSocket()
	if tc := ts.GetTypedConfig(); tc != nil {
		url := tc.GetTypeUrl()
		return url[strings.LastIndexByte(url, '/')+1:] == rawBufferType
	}
	return ts.GetName() == "envoy.transport_sockets.raw_buffer"
}

// discovery sets the cluster's kind and where its endpoints come from. STATIC, STRICT_DNS
// and LOGICAL_DNS clusters list their endpoints in load_assignment and become static
// clusters of "host:port" addresses; a DNS name is resolved when dialled, which is close to
// LOGICAL_DNS and approximates STRICT_DNS (which balances over every address a name
// resolves to). An EDS cluster's own load_assignment is ignored, as Envoy ignores it.
func discovery(out *table.Cluster, name string, v *resource.Cluster) error {
	switch v.Discovery {
	case resource.DiscoveryEDS:
		out.Kind, out.EDSName = table.ClusterEDS, v.EDSServiceName
		if out.EDSName == "" {
			out.EDSName = name
		}
		return nil
	case resource.DiscoveryStatic, resource.DiscoveryDNS:
		out.Kind = table.ClusterStatic
		addrs, err := staticAddresses(v.LoadAssignment)
		out.Addresses = addrs
		return err
	case resource.DiscoveryCustom:
		return fmt.Errorf("cluster type %q is not supported", v.CustomType)
	}
	return fmt.Errorf("discovery type %v is not supported", v.Discovery)
}

// staticAddresses lists a load assignment's endpoints as dial addresses. Envoy sends
// traffic to a lower priority only while the higher ones are not healthy enough; without
// health checking here, only the endpoints of the highest priority (the lowest number)
// are kept. Endpoints the control plane marks unhealthy, draining or timed out are left
// out, as Envoy leaves them out. Weights are dropped: the table's addresses are equal.
func staticAddresses(la *resource.ClusterLoadAssignment) ([]string, error) {
	if la == nil {
		return nil, nil
	}
	top, found := uint32(0), false
	for _, l := range la.Localities {
		if !found || l.Priority < top {
			top, found = l.Priority, true
		}
	}
	var out []string
	for i, l := range la.Localities {
		if l.Priority != top {
			continue
		}
		for j, e := range l.Endpoints {
			switch e.Health {
			case resource.HealthUnhealthy, resource.HealthDraining, resource.HealthTimeout:
				continue
			}
			a := e.Address
			if a.Kind != resource.AddressSocket || a.UDP {
				return nil, fmt.Errorf("load_assignment.endpoints[%d].lb_endpoints[%d]: address %s is not a TCP socket address", i, j, a)
			}
			out = append(out, net.JoinHostPort(a.Host, strconv.FormatUint(uint64(a.Port), 10)))
		}
	}
	return out, nil
}

// lbPolicy maps the load balancing policy. RING_HASH and MAGLEV both become the table's
// consistent hash; their tuning (ring sizes, table size) is the runtime's.
func lbPolicy(v *resource.Cluster) (table.LBPolicy, error) {
	switch v.LBPolicy {
	case resource.LBRoundRobin:
		return table.LBRoundRobin, nil
	case resource.LBLeastRequest:
		return table.LBLeastRequest, nil
	case resource.LBRandom:
		return table.LBRandom, nil
	case resource.LBRingHash, resource.LBMaglev:
		return table.LBHash, nil
	case resource.LBCustom:
		return "", fmt.Errorf("load balancing policy %q is not supported", v.LBPolicyExtension)
	}
	return "", fmt.Errorf("load balancing policy %v is not supported", v.LBPolicy)
}

// h2c reports whether the cluster speaks HTTP/2 in cleartext (TLS was refused above).
// Envoy's auto_config negotiates HTTP/2 by ALPN, which needs TLS, so in cleartext it is
// HTTP/1.1. Following the downstream protocol, and HTTP/3, have no table equivalent.
func h2c(p resource.UpstreamProtocol) (bool, error) {
	switch p {
	case resource.ProtocolHTTP1, resource.ProtocolAuto:
		return false, nil
	case resource.ProtocolHTTP2:
		return true, nil
	}
	return false, fmt.Errorf("upstream protocol %v is not supported", p)
}
