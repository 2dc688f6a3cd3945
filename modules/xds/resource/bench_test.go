package resource

import (
	"fmt"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// BenchmarkDecodeCluster decodes a typical mesh cluster: EDS, mTLS by SDS, explicit
// HTTP/2 and circuit breakers. An initial CDS load of 10k clusters costs 10k of these.
func BenchmarkDecodeCluster(b *testing.B) {
	a := mustAny(b, validCluster(b))
	b.SetBytes(int64(len(a.Value)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeCluster(a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeClusterLoadAssignment decodes assignments of growing size, spread over
// three zones, to show the cost per endpoint.
func BenchmarkDecodeClusterLoadAssignment(b *testing.B) {
	for _, n := range []int{1, 30, 300} {
		b.Run(fmt.Sprintf("endpoints=%d", n), func(b *testing.B) {
			a := mustAny(b, loadAssignment(n))
			b.SetBytes(int64(len(a.Value)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeClusterLoadAssignment(a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// loadAssignment builds an assignment of n healthy endpoints in three zones.
func loadAssignment(n int) *endpointv3.ClusterLoadAssignment {
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: "backend.default.svc"}
	for z := range min(n, 3) {
		cla.Endpoints = append(cla.Endpoints, &endpointv3.LocalityLbEndpoints{
			Locality:            &corev3.Locality{Region: "eu-west", Zone: fmt.Sprintf("eu-west-1%c", 'a'+z)},
			LoadBalancingWeight: wrapperspb.UInt32(1),
		})
	}
	for i := range n {
		e := staticEndpoint(fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), 8080)
		e.HealthStatus = corev3.HealthStatus_HEALTHY
		l := cla.Endpoints[i%len(cla.Endpoints)]
		l.LbEndpoints = append(l.LbEndpoints, e)
	}
	return cla
}
