package integration

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// xdsServer is go-control-plane's real ADS server with a snapshot cache, on 127.0.0.1:0.
type xdsServer struct {
	addr    string
	cache   cachev3.SnapshotCache
	grpc    *grpc.Server
	streams atomic.Int64 // streams opened, SotW and delta
}

func startXDSServer(t *testing.T) *xdsServer {
	t.Helper()
	s := &xdsServer{cache: cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil)}
	cb := serverv3.CallbackFuncs{
		StreamOpenFunc:      func(context.Context, int64, string) error { s.streams.Add(1); return nil },
		DeltaStreamOpenFunc: func(context.Context, int64, string) error { s.streams.Add(1); return nil },
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := serverv3.NewServer(ctx, s.cache, cb)
	s.grpc = grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(s.grpc, srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	served := make(chan struct{})
	go func() { defer close(served); _ = s.grpc.Serve(ln) }()
	t.Cleanup(func() {
		s.grpc.Stop()
		cancel()
		<-served
	})
	return s
}

// setSnapshot publishes resources for a node under a version.
func (s *xdsServer) setSnapshot(t *testing.T, node, version string, res map[resourcev3.Type][]types.Resource) {
	t.Helper()
	snap, err := cachev3.NewSnapshot(version, res)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cache.SetSnapshot(context.Background(), node, snap); err != nil {
		t.Fatal(err)
	}
}

// meshResources is a small mesh: one EDS cluster with its endpoints and a route to it.
// weight 0 on the route's only cluster makes the route configuration invalid.
func meshResources(endpointPort uint32, routeWeight uint32) map[resourcev3.Type][]types.Resource {
	cluster := &clusterv3.Cluster{
		Name:                 "catalog",
		ConnectTimeout:       durationpb.New(time.Second),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{EdsConfig: &corev3.ConfigSource{
			ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		}},
	}
	cla := &endpointv3.ClusterLoadAssignment{
		ClusterName: "catalog",
		Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
			HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
				Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
					Address: "127.0.0.2", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: endpointPort},
				}}},
			}},
		}}}},
	}
	route := &routev3.RouteConfiguration{
		Name: "shop",
		VirtualHosts: []*routev3.VirtualHost{{
			Name: "shop", Domains: []string{"shop.example.com"},
			Routes: []*routev3.Route{{
				Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{
					WeightedClusters: &routev3.WeightedCluster{Clusters: []*routev3.WeightedCluster_ClusterWeight{
						{Name: "catalog", Weight: wrapUint32(routeWeight)},
					}},
				}}},
			}},
		}},
	}
	// A type outside the five built-in ones, to check that custom types become kinds.
	locality, err := anypb.New(&corev3.Locality{Region: "eu-west-1"})
	if err != nil {
		panic(err)
	}
	ext := &corev3.TypedExtensionConfig{Name: "ext", TypedConfig: locality}
	return map[resourcev3.Type][]types.Resource{
		resourcev3.ClusterType:         {cluster},
		resourcev3.EndpointType:        {cla},
		resourcev3.RouteType:           {route},
		resourcev3.ExtensionConfigType: {ext},
	}
}
