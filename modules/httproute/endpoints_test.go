package httproute

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/anypb"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// epPort is an EndpointSlice port; an empty name is an unnamed port.
func epPort(name string, n int32) discoveryv1.EndpointPort {
	p := discoveryv1.EndpointPort{Port: &n}
	if name != "" {
		p.Name = &name
	}
	return p
}

// endpointOf is an endpoint with its ready condition: nil means unknown, which counts as
// ready.
func endpointOf(ready *bool, addrs ...string) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
}

func boolPtr(b bool) *bool { return &b }

// epSlice is an EndpointSlice of service svc ("" for an unlabelled slice).
func epSlice(ns, name, svc string, at discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name},
		AddressType: at,
		Ports:       ports,
		Endpoints:   eps,
	}
	if svc != "" {
		s.Labels = map[string]string{discoveryv1.LabelServiceName: svc}
	}
	return s
}

// waitEndpoints polls cond, which returns "" when it holds.
func waitEndpoints(t *testing.T, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEndpointsSlices feeds EndpointSlices through a collection and checks the snapshot
// after each write. Each step ends by writing a marker slice; the watch handles batches in
// order, so once the marker shows, the step's writes have been taken in and the snapshot
// is checked exactly, not eventually.
func TestEndpointsSlices(t *testing.T) {
	http8080 := []discoveryv1.EndpointPort{epPort("http", 8080)}
	v4, v6, fqdn := discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN
	steps := []struct {
		name  string
		apply func(s *collection.Static[*discoveryv1.EndpointSlice])
		want  map[string][]string // "ns/service/port" → dials; nil for none
	}{
		{
			name: "ready, unknown and not-ready endpoints; named ports",
			apply: func(s *collection.Static[*discoveryv1.EndpointSlice]) {
				var noPort discoveryv1.EndpointPort
				name := "none"
				noPort.Name = &name
				s.Upsert(epSlice("default", "web-1", "web", v4,
					[]discoveryv1.EndpointPort{epPort("http", 8080), epPort("metrics", 9090), noPort},
					endpointOf(boolPtr(true), "10.0.0.2"),
					endpointOf(nil, "10.0.0.1"),
					endpointOf(boolPtr(false), "10.0.0.3"),
					endpointOf(boolPtr(true)), // no address
				))
			},
			want: map[string][]string{
				"default/web/http":    {"10.0.0.1:8080", "10.0.0.2:8080"},
				"default/web/metrics": {"10.0.0.1:9090", "10.0.0.2:9090"},
				"default/web/none":    nil,
				"default/web/":        nil,
			},
		},
		{
			name: "unnamed port, IPv6",
			apply: func(s *collection.Static[*discoveryv1.EndpointSlice]) {
				s.Upsert(epSlice("default", "api-1", "api", v6, []discoveryv1.EndpointPort{epPort("", 80)},
					endpointOf(nil, "fd00::1")))
			},
			want: map[string][]string{
				"default/api/":     {"[fd00::1]:80"},
				"default/api/http": nil,
				"default/web/http": {"10.0.0.1:8080", "10.0.0.2:8080"},
			},
		},
		{
			name: "slices of a service merge, sorted and deduplicated",
			apply: func(s *collection.Static[*discoveryv1.EndpointSlice]) {
				s.Upsert(epSlice("default", "web-2", "web", v4, http8080,
					endpointOf(nil, "10.0.0.2"), endpointOf(nil, "10.0.0.10"), endpointOf(nil, "10.0.0.0")))
			},
			want: map[string][]string{
				"default/web/http":    {"10.0.0.0:8080", "10.0.0.10:8080", "10.0.0.1:8080", "10.0.0.2:8080"},
				"default/web/metrics": {"10.0.0.1:9090", "10.0.0.2:9090"},
			},
		},
		{
			name: "FQDN slices are ignored",
			apply: func(s *collection.Static[*discoveryv1.EndpointSlice]) {
				s.Upsert(epSlice("default", "web-fqdn", "web", fqdn, http8080, endpointOf(nil, "db.example.com")))
			},
			want: map[string][]string{
				"default/web/http": {"10.0.0.0:8080", "10.0.0.10:8080", "10.0.0.1:8080", "10.0.0.2:8080"},
			},
		},
		{
			name: "namespaces stay apart; unlabelled slices are ignored",
			apply: func(s *collection.Static[*discoveryv1.EndpointSlice]) {
				s.Upsert(
					epSlice("other", "web-1", "web", v4, http8080, endpointOf(nil, "10.1.0.1")),
					epSlice("default", "stray", "", v4, http8080, endpointOf(nil, "10.9.9.9")),
				)
			},
			want: map[string][]string{
				"other/web/http":   {"10.1.0.1:8080"},
				"default/web/http": {"10.0.0.0:8080", "10.0.0.10:8080", "10.0.0.1:8080", "10.0.0.2:8080"},
			},
		},
		{
			name: "update",
			apply: func(s *collection.Static[*discoveryv1.EndpointSlice]) {
				s.Upsert(epSlice("default", "web-1", "web", v4,
					[]discoveryv1.EndpointPort{epPort("http", 8080), epPort("metrics", 9090)},
					endpointOf(boolPtr(true), "10.0.0.9"), endpointOf(boolPtr(false), "10.0.0.1")))
			},
			want: map[string][]string{
				"default/web/http":    {"10.0.0.0:8080", "10.0.0.10:8080", "10.0.0.2:8080", "10.0.0.9:8080"},
				"default/web/metrics": {"10.0.0.9:9090"},
			},
		},
		{
			name: "a slice moves to another service",
			apply: func(s *collection.Static[*discoveryv1.EndpointSlice]) {
				s.Upsert(epSlice("default", "web-2", "api", v4, http8080,
					endpointOf(nil, "10.0.0.2"), endpointOf(nil, "10.0.0.10"), endpointOf(nil, "10.0.0.0")))
			},
			want: map[string][]string{
				"default/web/http": {"10.0.0.9:8080"},
				"default/api/http": {"10.0.0.0:8080", "10.0.0.10:8080", "10.0.0.2:8080"},
				"default/api/":     {"[fd00::1]:80"},
			},
		},
		{
			name: "a slice loses its label",
			apply: func(s *collection.Static[*discoveryv1.EndpointSlice]) {
				s.Upsert(epSlice("other", "web-1", "", v4, http8080, endpointOf(nil, "10.1.0.1")))
			},
			want: map[string][]string{"other/web/http": nil},
		},
		{
			name: "delete",
			apply: func(s *collection.Static[*discoveryv1.EndpointSlice]) {
				s.Delete("default/web-1", "default/web-fqdn")
			},
			want: map[string][]string{
				"default/web/http":    nil,
				"default/web/metrics": nil,
				"default/api/http":    {"10.0.0.0:8080", "10.0.0.10:8080", "10.0.0.2:8080"},
			},
		},
		{
			name: "every endpoint turns not ready",
			apply: func(s *collection.Static[*discoveryv1.EndpointSlice]) {
				s.Upsert(epSlice("default", "api-1", "api", v6, []discoveryv1.EndpointPort{epPort("", 80)},
					endpointOf(boolPtr(false), "fd00::1")))
			},
			want: map[string][]string{"default/api/": nil},
		},
	}

	in := collection.NewStatic[*discoveryv1.EndpointSlice]()
	in.MarkSynced()
	e := NewEndpoints(in, nil)
	defer e.Stop()
	for i, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.apply(in)
			marker := fmt.Sprintf("10.255.0.%d:1", i)
			in.Upsert(epSlice("zz", "marker", "marker", v4, []discoveryv1.EndpointPort{epPort("", 1)},
				endpointOf(nil, strings.TrimSuffix(marker, ":1"))))
			waitEndpoints(t, func() string {
				if got := e.Service("zz", "marker", ""); !slices.Equal(got, []string{marker}) {
					return fmt.Sprintf("marker %v, want %s", got, marker)
				}
				return ""
			})
			for key, want := range step.want {
				parts := strings.SplitN(key, "/", 3)
				if got := e.Service(parts[0], parts[1], parts[2]); !slices.Equal(got, want) {
					t.Errorf("Service(%q, %q, %q) = %q, want %q", parts[0], parts[1], parts[2], got, want)
				}
			}
		})
	}
}

// lbEndpoint is a socket endpoint with a health status.
func lbEndpoint(host string, port uint32, health corev3.HealthStatus) *endpointv3.LbEndpoint {
	return &endpointv3.LbEndpoint{
		HealthStatus: health,
		HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
			Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
				Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
			}}},
		}},
	}
}

func locality(priority uint32, eps ...*endpointv3.LbEndpoint) *endpointv3.LocalityLbEndpoints {
	return &endpointv3.LocalityLbEndpoints{Priority: priority, LbEndpoints: eps}
}

// assignment decodes a ClusterLoadAssignment through the xDS resource decoder, as the xds
// source does.
func assignment(t *testing.T, name string, locs ...*endpointv3.LocalityLbEndpoints) *resource.ClusterLoadAssignment {
	t.Helper()
	a, err := anypb.New(&endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: locs})
	if err != nil {
		t.Fatal(err)
	}
	cla, err := resource.DecodeClusterLoadAssignment(a)
	if err != nil {
		t.Fatalf("decoding assignment %q: %v", name, err)
	}
	return cla
}

func newAssignments() *collection.Static[*resource.ClusterLoadAssignment] {
	return collection.NewStatic[*resource.ClusterLoadAssignment](
		collection.WithKey(func(c *resource.ClusterLoadAssignment) string { return c.Name() }))
}

// TestEndpointsAssignments feeds ClusterLoadAssignments: the lowest priority with usable
// endpoints wins, unhealthy, draining and timed-out endpoints are skipped, and non-socket
// addresses are never dialled.
func TestEndpointsAssignments(t *testing.T) {
	const (
		healthy   = corev3.HealthStatus_HEALTHY
		unknown   = corev3.HealthStatus_UNKNOWN
		unhealthy = corev3.HealthStatus_UNHEALTHY
		draining  = corev3.HealthStatus_DRAINING
		timeout   = corev3.HealthStatus_TIMEOUT
		degraded  = corev3.HealthStatus_DEGRADED
	)
	pipe := &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
		Address: &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: "/run/app.sock"}}},
	}}}
	steps := []struct {
		name  string
		apply func(t *testing.T, s *collection.Static[*resource.ClusterLoadAssignment])
		want  map[string][]string // cluster → dials; nil for none
	}{
		{
			name: "priority 0 wins; unhealthy, draining and timed out are skipped",
			apply: func(t *testing.T, s *collection.Static[*resource.ClusterLoadAssignment]) {
				s.Upsert(assignment(t, "a",
					locality(1, lbEndpoint("10.0.1.1", 80, healthy)),
					locality(0,
						lbEndpoint("10.0.0.2", 80, unknown),
						lbEndpoint("10.0.0.1", 80, healthy),
						lbEndpoint("10.0.0.3", 80, unhealthy),
						lbEndpoint("10.0.0.4", 80, draining),
						lbEndpoint("10.0.0.5", 80, timeout),
						lbEndpoint("10.0.0.6", 80, degraded),
						pipe,
					)))
			},
			want: map[string][]string{"a": {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.6:80"}},
		},
		{
			name: "the lowest priority with usable endpoints wins; its localities merge",
			apply: func(t *testing.T, s *collection.Static[*resource.ClusterLoadAssignment]) {
				s.Upsert(assignment(t, "b",
					locality(2, lbEndpoint("10.0.2.1", 80, healthy)),
					locality(0, lbEndpoint("10.0.0.1", 80, unhealthy), lbEndpoint("10.0.0.2", 80, draining)),
					locality(1, lbEndpoint("10.0.1.2", 80, healthy)),
					locality(1, lbEndpoint("10.0.1.1", 80, unknown), lbEndpoint("10.0.1.2", 80, healthy)),
				))
			},
			want: map[string][]string{"b": {"10.0.1.1:80", "10.0.1.2:80"}, "a": {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.6:80"}},
		},
		{
			name: "no usable endpoint",
			apply: func(t *testing.T, s *collection.Static[*resource.ClusterLoadAssignment]) {
				s.Upsert(assignment(t, "c", locality(0, lbEndpoint("10.0.0.1", 80, unhealthy)), locality(1, pipe)))
			},
			want: map[string][]string{"c": nil},
		},
		{
			name: "update fails over",
			apply: func(t *testing.T, s *collection.Static[*resource.ClusterLoadAssignment]) {
				s.Upsert(assignment(t, "a",
					locality(1, lbEndpoint("10.0.1.1", 80, healthy)),
					locality(0, lbEndpoint("10.0.0.1", 80, unhealthy), lbEndpoint("10.0.0.2", 80, timeout))))
			},
			want: map[string][]string{"a": {"10.0.1.1:80"}},
		},
		{
			name: "delete",
			apply: func(t *testing.T, s *collection.Static[*resource.ClusterLoadAssignment]) {
				s.Delete("a")
			},
			want: map[string][]string{"a": nil, "b": {"10.0.1.1:80", "10.0.1.2:80"}, "nope": nil},
		},
	}
	slicesIn := collection.NewStatic[*discoveryv1.EndpointSlice]()
	slicesIn.MarkSynced()
	in := newAssignments()
	in.MarkSynced()
	e := NewEndpoints(slicesIn, in)
	defer e.Stop()
	for i, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.apply(t, in)
			marker := fmt.Sprintf("10.255.0.%d", i)
			in.Upsert(assignment(t, "zz-marker", locality(0, lbEndpoint(marker, 1, healthy))))
			waitEndpoints(t, func() string {
				if got := e.Cluster("zz-marker"); !slices.Equal(got, []string{marker + ":1"}) {
					return fmt.Sprintf("marker %v, want %s:1", got, marker)
				}
				return ""
			})
			for name, want := range step.want {
				if got := e.Cluster(name); !slices.Equal(got, want) {
					t.Errorf("Cluster(%q) = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// endpointInputs are the collections an Endpoints follows in a test.
type endpointInputs struct {
	slices      *collection.Static[*discoveryv1.EndpointSlice]
	assignments *collection.Static[*resource.ClusterLoadAssignment]
}

// TestEndpointsSynced checks that Synced closes once the first view of every input has
// been taken in, and not before.
func TestEndpointsSynced(t *testing.T) {
	slice := epSlice("default", "web-1", "web", discoveryv1.AddressTypeIPv4,
		[]discoveryv1.EndpointPort{epPort("http", 80)}, endpointOf(nil, "10.0.0.1"))
	tests := []struct {
		name string
		// before fills the inputs before NewEndpoints.
		before func(t *testing.T, in endpointInputs)
		// noAssignments leaves the assignments out of NewEndpoints.
		noAssignments bool
		// after, if set, is written once Synced has been seen still open.
		after func(t *testing.T, in endpointInputs)
	}{
		{
			name:          "slices present",
			before:        func(_ *testing.T, in endpointInputs) { in.slices.Reset([]*discoveryv1.EndpointSlice{slice}) },
			noAssignments: true,
		},
		{
			name:          "closes after the first batch of slices",
			before:        func(*testing.T, endpointInputs) {},
			noAssignments: true,
			after:         func(_ *testing.T, in endpointInputs) { in.slices.Reset([]*discoveryv1.EndpointSlice{slice}) },
		},
		{
			name:   "waits for the assignments too",
			before: func(_ *testing.T, in endpointInputs) { in.slices.Reset([]*discoveryv1.EndpointSlice{slice}) },
			after: func(t *testing.T, in endpointInputs) {
				in.assignments.Reset([]*resource.ClusterLoadAssignment{
					assignment(t, "a", locality(0, lbEndpoint("10.0.0.1", 80, corev3.HealthStatus_HEALTHY))),
				})
			},
		},
		{
			// A source that lists in pages (an informer) upserts before it marks the
			// collection synced: the first page is not the first view.
			name:          "waits for an input to sync",
			before:        func(_ *testing.T, in endpointInputs) { in.slices.Upsert(slice) },
			noAssignments: true,
			after:         func(_ *testing.T, in endpointInputs) { in.slices.MarkSynced() },
		},
		{
			// A mesh fed by xDS alone has no EndpointSlices at all: merged/endpointslices is
			// synced and empty from the start, and its first view is taken in at once.
			name: "empty synced inputs",
			before: func(_ *testing.T, in endpointInputs) {
				in.slices.Reset(nil)
				in.assignments.Reset(nil)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := endpointInputs{slices: collection.NewStatic[*discoveryv1.EndpointSlice](), assignments: newAssignments()}
			tt.before(t, in)
			var e *Endpoints
			if tt.noAssignments {
				e = NewEndpoints(in.slices, nil)
			} else {
				e = NewEndpoints(in.slices, in.assignments)
			}
			defer e.Stop()
			if tt.after != nil {
				select {
				case <-e.Synced():
					t.Fatal("Synced closed before every input's first view was in")
				case <-time.After(100 * time.Millisecond):
				}
				tt.after(t, in)
			}
			select {
			case <-e.Synced():
			case <-time.After(3 * time.Second):
				t.Fatal("Synced did not close")
			}
		})
	}
}

// meshContext returns a Caddy context with a mesh app whose registry holds the test's
// collections under source "t".
func meshContext(t *testing.T) (caddy.Context, *mesh.App) {
	t.Helper()
	cfg := new(caddy.Config)
	if err := json.Unmarshal([]byte(`{"admin": {"disabled": true}}`), cfg); err != nil {
		t.Fatal(err)
	}
	base, err := caddy.ProvisionContext(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(base)
	t.Cleanup(cancel)
	app, err := mesh.FromContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, app
}

// TestUpstreamsModule provisions http.reverse_proxy.upstreams.mesh against a mesh app's
// collections: its validation errors, and the upstreams it returns for a Service port (by
// number, mapped to the slices' port name) and for an Envoy cluster.
func TestUpstreamsModule(t *testing.T) {
	ctx, app := meshContext(t)
	slicesIn := collection.NewStatic[*discoveryv1.EndpointSlice]()
	services := collection.NewStatic[*corev1.Service]()
	clas := newAssignments()
	reg := app.Registry()
	for _, err := range []error{
		mesh.Register[*discoveryv1.EndpointSlice](reg, "t/endpointslices", slicesIn),
		mesh.Register[*corev1.Service](reg, "t/services", services),
		mesh.Register[*resource.ClusterLoadAssignment](reg, "t/clusterloadassignments", clas),
		// Source "x" publishes assignments and no Kubernetes kinds, as the xds source does.
		mesh.Register[*resource.ClusterLoadAssignment](reg, "x/clusterloadassignments", clas),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	svc := func(name string, ports ...corev1.ServicePort) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: corev1.ServiceSpec{Ports: ports}}
	}
	services.Reset([]*corev1.Service{
		svc("web", corev1.ServicePort{Name: "http", Port: 80}, corev1.ServicePort{Name: "admin", Port: 81}),
		svc("single", corev1.ServicePort{Port: 8080}),
	})
	slicesIn.Reset([]*discoveryv1.EndpointSlice{
		epSlice("default", "web-1", "web", discoveryv1.AddressTypeIPv4,
			[]discoveryv1.EndpointPort{epPort("http", 8080), epPort("admin", 9090)},
			endpointOf(nil, "10.0.0.2"), endpointOf(nil, "10.0.0.1")),
		epSlice("default", "single-1", "single", discoveryv1.AddressTypeIPv4,
			[]discoveryv1.EndpointPort{epPort("", 8080)}, endpointOf(nil, "10.0.1.1")),
	})
	clas.Reset([]*resource.ClusterLoadAssignment{
		assignment(t, "catalog", locality(0, lbEndpoint("10.0.2.1", 80, corev3.HealthStatus_HEALTHY))),
	})

	tests := []struct {
		name       string
		u          Upstreams
		provision  string   // the Provision error it must contain, or ""
		getErr     string   // the GetUpstreams error it must contain, or ""
		wantDials  []string // with neither error
		eventually bool     // the dials must show up (the watch is asynchronous)
	}{
		{name: "neither service nor cluster", u: Upstreams{Source: "t"}, provision: "exactly one of service and cluster"},
		{name: "both service and cluster", u: Upstreams{Source: "t", Service: "default/web", Cluster: "catalog"}, provision: "exactly one of service and cluster"},
		{name: "service without namespace", u: Upstreams{Source: "t", Service: "web"}, provision: "must be namespace/name"},
		{name: "service with empty namespace", u: Upstreams{Source: "t", Service: "/web"}, provision: "must be namespace/name"},
		{name: "service with empty name", u: Upstreams{Source: "t", Service: "default/"}, provision: "must be namespace/name"},
		{name: "unknown source", u: Upstreams{Source: "nope", Service: "default/web", Port: 80}, provision: `"nope/endpointslices" not found`},
		{name: "port number maps to the slices' port name", u: Upstreams{Source: "t", Service: "default/web", Port: 80}, wantDials: []string{"10.0.0.1:8080", "10.0.0.2:8080"}, eventually: true},
		{name: "second port", u: Upstreams{Source: "t", Service: "default/web", Port: 81}, wantDials: []string{"10.0.0.1:9090", "10.0.0.2:9090"}, eventually: true},
		{name: "single unnamed port without a port number", u: Upstreams{Source: "t", Service: "default/single"}, wantDials: []string{"10.0.1.1:8080"}, eventually: true},
		{name: "two ports need a port number", u: Upstreams{Source: "t", Service: "default/web"}, getErr: "has no port 0"},
		{name: "port not in the service", u: Upstreams{Source: "t", Service: "default/web", Port: 82}, getErr: "has no port 82"},
		{name: "missing service", u: Upstreams{Source: "t", Service: "default/nope", Port: 80}, getErr: "not found"},
		{name: "cluster", u: Upstreams{Source: "t", Cluster: "catalog"}, wantDials: []string{"10.0.2.1:80"}, eventually: true},
		{name: "unknown cluster has no upstreams", u: Upstreams{Source: "t", Cluster: "nope"}},
		{name: "cluster of a source without EndpointSlices", u: Upstreams{Source: "x", Cluster: "catalog"}, wantDials: []string{"10.0.2.1:80"}, eventually: true},
		{name: "service of a source without EndpointSlices", u: Upstreams{Source: "x", Service: "default/web", Port: 80}, provision: `"x/endpointslices" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.u
			err := u.Provision(ctx)
			defer u.Cleanup()
			if tt.provision != "" {
				if err == nil || !strings.Contains(err.Error(), tt.provision) {
					t.Fatalf("Provision: %v, want an error with %q", err, tt.provision)
				}
				return
			}
			if err != nil {
				t.Fatalf("Provision: %v", err)
			}
			req := httptest.NewRequest("GET", "http://x/", nil)
			dials := func() ([]string, error) {
				ups, err := u.GetUpstreams(req)
				var out []string
				for _, up := range ups {
					out = append(out, up.Dial)
				}
				return out, err
			}
			if tt.getErr != "" {
				if _, err := dials(); err == nil || !strings.Contains(err.Error(), tt.getErr) {
					t.Fatalf("GetUpstreams: %v, want an error with %q", err, tt.getErr)
				}
				return
			}
			if tt.eventually {
				waitEndpoints(t, func() string {
					got, err := dials()
					if err != nil || !slices.Equal(got, tt.wantDials) {
						return fmt.Sprintf("GetUpstreams = %q, %v; want %q", got, err, tt.wantDials)
					}
					return ""
				})
				return
			}
			time.Sleep(50 * time.Millisecond) // let the watch take its first batch in
			if got, err := dials(); err != nil || len(got) != 0 {
				t.Fatalf("GetUpstreams = %q, %v; want none", got, err)
			}
		})
	}
}
