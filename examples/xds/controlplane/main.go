// Command controlplane is a small xDS management server built on go-control-plane, for
// the xds example: it serves one cluster, its endpoints and a route configuration over ADS
// (state of the world and delta), and changes the endpoints' port every few seconds so that
// the updates can be watched arriving in caddymesh's collections.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
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
	"google.golang.org/protobuf/types/known/durationpb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18000", "address to serve ADS on")
	node := flag.String("node", "node-1", "node ID to serve resources to")
	every := flag.Duration("every", 5*time.Second, "how often to move the endpoints to another port (0: never)")
	flag.Parse()
	if err := run(*listen, *node, *every); err != nil {
		log.Fatal(err)
	}
}

func run(listen, node string, every time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cache := cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil)
	version := 1
	publish := func() error {
		snap, err := cachev3.NewSnapshot(fmt.Sprint(version), resources(uint32(8000+version)))
		if err != nil {
			return fmt.Errorf("building snapshot: %w", err)
		}
		return cache.SetSnapshot(ctx, node, snap)
	}
	if err := publish(); err != nil {
		return err
	}

	srv := grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(srv, serverv3.NewServer(ctx, cache, nil))
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	log.Printf("serving ADS on %s for node %q", ln.Addr(), node)
	go func() {
		<-ctx.Done()
		srv.GracefulStop()
	}()
	if every > 0 {
		go func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					version++
					if err := publish(); err != nil {
						log.Print(err)
					}
				}
			}
		}()
	}
	return srv.Serve(ln)
}

// resources is the example mesh: the cluster "catalog" (EDS) with one endpoint on port, and
// the route configuration "shop" sending shop.example.com to it.
func resources(port uint32) map[resourcev3.Type][]types.Resource {
	ads := &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}}
	return map[resourcev3.Type][]types.Resource{
		resourcev3.ClusterType: {&clusterv3.Cluster{
			Name:                 "catalog",
			ConnectTimeout:       durationpb.New(time.Second),
			ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
			EdsClusterConfig:     &clusterv3.Cluster_EdsClusterConfig{EdsConfig: ads},
		}},
		resourcev3.EndpointType: {&endpointv3.ClusterLoadAssignment{
			ClusterName: "catalog",
			Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
					Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
						Address: "127.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
					}}},
				}},
			}}}},
		}},
		resourcev3.RouteType: {&routev3.RouteConfiguration{
			Name: "shop",
			VirtualHosts: []*routev3.VirtualHost{{
				Name: "shop", Domains: []string{"shop.example.com"},
				Routes: []*routev3.Route{{
					Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
					Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "catalog"}}},
				}},
			}},
		}},
	}
}
