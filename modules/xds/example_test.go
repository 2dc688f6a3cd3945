package xds_test

import (
	"context"
	"log"
	"time"

	"github.com/caddymesh/caddymesh/modules/xds"
)

// A program that keeps the clusters and endpoints of a management server in sync: it
// subscribes to every cluster, lets the client follow the EDS clusters to their
// endpoints, and applies each event to its own state.
func ExampleConnect() {
	cfg := xds.AdsConfig{
		Server: "istiod.istio-system.svc:15010",
		Node:   xds.NewNode("sidecar~10.0.0.1~app.default~default.svc.cluster.local", "app"),
	}
	ctx := context.Background()
	client, err := xds.Connect(ctx, cfg, xds.WithAutoSubscribe(true))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	if err := client.Subscribe(xds.ClusterType); err != nil { // no names: every cluster
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		ev, err := client.Next(ctx)
		if err != nil {
			return // cancelled or closed
		}
		switch ev.Type {
		case xds.EventResponse, xds.EventDeltaResponse:
			for name := range ev.Resources {
				log.Printf("%s %s updated", ev.TypeURL.Kind(), name)
			}
			for _, name := range ev.Removed {
				log.Printf("%s %s removed", ev.TypeURL.Kind(), name)
			}
			for name, err := range ev.Rejected {
				log.Printf("%s %s rejected, keeping its last good version: %v", ev.TypeURL.Kind(), name, err)
			}
		case xds.EventDisconnected:
			log.Printf("disconnected, serving the last good state: %v", ev.Err)
		case xds.EventDoesNotExist:
			log.Printf("%s %v do not exist", ev.TypeURL.Kind(), ev.Names)
		}
	}
}
