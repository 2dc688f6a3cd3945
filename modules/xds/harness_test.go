package xds

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// testNode is the node ID every test client uses; snapshots are set for it.
const testNode = "test-node"

// cp is go-control-plane's real ADS server on 127.0.0.1:0, with callbacks that record
// every request the client sends and every response the server sends, so tests can check
// the exact fields of ACKs and NACKs.
type cp struct {
	t     testing.TB
	cache cachev3.Cache
	addr  string
	creds credentials.TransportCredentials
	token string

	// onResponse, when set, runs in the server's stream goroutine just before a response
	// is sent, with the response's type URL and nonce.
	onResponse func(typeURL, nonce string)
	// recvHook, when set, sees each request as the gRPC server reads it, before
	// go-control-plane's stream loop does.
	recvHook func(m any)

	mu        sync.Mutex
	grpc      *grpc.Server
	done      chan struct{}
	requests  []req
	responses []resp
	hooksMu   sync.Mutex
	serves    int
}

// req is a request as the server received it, copied at once: the server modifies the
// request and its maps after the callback returns.
type req struct {
	// server counts the server's (re)starts; stream IDs restart with each.
	server      int
	stream      int64
	typeURL     string
	version     string
	names       []string
	nonce       string
	detail      *statuspb.Status
	subscribe   []string
	unsubscribe []string
	initial     map[string]string
	hasNode     bool
}

// resp is a response as the server sent it.
type resp struct {
	typeURL string
	version string
	nonce   string
	names   []string
	removed []string
}

// newCP starts a server for cache.
func newCP(t testing.TB, cache cachev3.Cache) *cp {
	t.Helper()
	s := &cp{t: t, cache: cache}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = lis.Addr().String()
	s.serve(lis)
	t.Cleanup(s.stop)
	return s
}

// newTLSCP starts a server with TLS credentials and, when token is set, a bearer check.
func newTLSCP(t testing.TB, cache cachev3.Cache, creds credentials.TransportCredentials, token string) *cp {
	t.Helper()
	s := &cp{t: t, cache: cache, creds: creds, token: token}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = lis.Addr().String()
	s.serve(lis)
	t.Cleanup(s.stop)
	return s
}

func (s *cp) serve(lis net.Listener) {
	s.mu.Lock()
	s.serves++
	gen := s.serves
	s.mu.Unlock()
	cb := serverv3.CallbackFuncs{
		StreamRequestFunc: func(id int64, r *discoveryv3.DiscoveryRequest) error {
			s.record(req{server: gen, stream: id, typeURL: r.GetTypeUrl(), version: r.GetVersionInfo(),
				names: slices.Clone(r.GetResourceNames()), nonce: r.GetResponseNonce(),
				detail: cloneStatus(r.GetErrorDetail())})
			return nil
		},
		StreamResponseFunc: func(_ context.Context, _ int64, _ *discoveryv3.DiscoveryRequest, r *discoveryv3.DiscoveryResponse) {
			var names []string
			for _, a := range r.GetResources() {
				names = append(names, resourceNameOf(a))
			}
			s.recordResponse(resp{typeURL: r.GetTypeUrl(), version: r.GetVersionInfo(), nonce: r.GetNonce(), names: names})
		},
		StreamDeltaRequestFunc: func(id int64, r *discoveryv3.DeltaDiscoveryRequest) error {
			initial := make(map[string]string, len(r.GetInitialResourceVersions()))
			for k, v := range r.GetInitialResourceVersions() {
				initial[k] = v
			}
			s.record(req{server: gen, stream: id, typeURL: r.GetTypeUrl(), nonce: r.GetResponseNonce(),
				detail:    cloneStatus(r.GetErrorDetail()),
				subscribe: slices.Clone(r.GetResourceNamesSubscribe()), unsubscribe: slices.Clone(r.GetResourceNamesUnsubscribe()),
				initial: initial, hasNode: r.GetNode() != nil})
			return nil
		},
		StreamDeltaResponseFunc: func(_ int64, _ *discoveryv3.DeltaDiscoveryRequest, r *discoveryv3.DeltaDiscoveryResponse) {
			var names []string
			for _, x := range r.GetResources() {
				names = append(names, x.GetName())
			}
			s.recordResponse(resp{typeURL: r.GetTypeUrl(), version: r.GetSystemVersionInfo(), nonce: r.GetNonce(),
				names: names, removed: slices.Clone(r.GetRemovedResources())})
		},
	}
	opts := []grpc.ServerOption{grpc.StreamInterceptor(s.intercept)}
	if s.creds != nil {
		opts = append(opts, grpc.Creds(s.creds))
	}
	srv := grpc.NewServer(opts...)
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(srv, serverv3.NewServer(context.Background(), s.cache, cb))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	s.mu.Lock()
	s.grpc, s.done = srv, done
	s.mu.Unlock()
}

// intercept checks the bearer token, as a control plane's auth interceptor would, and
// lets recvHook see requests as they arrive.
func (s *cp) intercept(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if s.token != "" {
		md, _ := metadata.FromIncomingContext(ss.Context())
		if got := md.Get("authorization"); len(got) == 0 || got[0] != "Bearer "+s.token {
			return status.Error(codes.Unauthenticated, "invalid bearer token")
		}
	}
	return h(srv, &hookedStream{ServerStream: ss, s: s})
}

type hookedStream struct {
	grpc.ServerStream
	s *cp
}

func (h *hookedStream) RecvMsg(m any) error {
	err := h.ServerStream.RecvMsg(m)
	if err == nil {
		h.s.hooksMu.Lock()
		hook := h.s.recvHook
		h.s.hooksMu.Unlock()
		if hook != nil {
			hook(m)
		}
	}
	return err
}

func (h *hookedStream) SendMsg(m any) error {
	h.s.hooksMu.Lock()
	hook := h.s.onResponse
	h.s.hooksMu.Unlock()
	if hook != nil {
		switch r := m.(type) {
		case *discoveryv3.DiscoveryResponse:
			hook(r.GetTypeUrl(), r.GetNonce())
		case *discoveryv3.DeltaDiscoveryResponse:
			hook(r.GetTypeUrl(), r.GetNonce())
		}
	}
	return h.ServerStream.SendMsg(m)
}

// setHooks installs onResponse and recvHook.
func (s *cp) setHooks(onResponse func(typeURL, nonce string), recv func(m any)) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	s.onResponse, s.recvHook = onResponse, recv
}

func (s *cp) stop() {
	s.mu.Lock()
	srv, done := s.grpc, s.done
	s.grpc = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Stop()
		<-done
	}
}

// restart stops the server, dropping every stream, and serves the same cache again on
// the same address.
func (s *cp) restart() {
	s.t.Helper()
	s.stop()
	var lis net.Listener
	var err error
	for range 50 { // the port is free at once on Linux; retry in case it is not
		if lis, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("re-listening on %s: %v", s.addr, err)
	}
	s.serve(lis)
}

func (s *cp) record(r req) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

func (s *cp) recordResponse(r resp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responses = append(s.responses, r)
}

// requestsOf returns the requests of one type received so far.
func (s *cp) requestsOf(typeURL TypeURL) []req {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []req
	for _, r := range s.requests {
		if r.typeURL == string(typeURL) {
			out = append(out, r)
		}
	}
	return out
}

// responsesOf returns the responses of one type sent so far.
func (s *cp) responsesOf(typeURL TypeURL) []resp {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []resp
	for _, r := range s.responses {
		if r.typeURL == string(typeURL) {
			out = append(out, r)
		}
	}
	return out
}

func cloneStatus(st *statuspb.Status) *statuspb.Status {
	if st == nil {
		return nil
	}
	return proto.Clone(st).(*statuspb.Status)
}

// resourceNameOf reads the name of a state-of-the-world resource, for the record.
func resourceNameOf(a *anypb.Any) string {
	m, err := a.UnmarshalNew()
	if err != nil {
		return ""
	}
	return cachev3.GetResourceName(m)
}

// --- client side ---

// testConfig is a config for a server at addr with test-sized timers.
func testConfig(addr string, delta bool) AdsConfig {
	return AdsConfig{
		Server:                      addr,
		Node:                        NewNode(testNode, "test-cluster"),
		StateOfTheWorld:             !delta,
		Backoff:                     Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		ResourceDoesNotExistTimeout: 30 * time.Second,
	}
}

// connect connects and closes the client when the test ends.
func connect(t testing.TB, cfg AdsConfig, opts ...ClientOption) *AdsClient {
	t.Helper()
	c, err := Connect(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitEvent reads events until match accepts one, failing the test after timeout. It
// returns the matching event and every event read before it.
func waitEvent(t testing.TB, c *AdsClient, timeout time.Duration, what string, match func(Event) bool) (Event, []Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var seen []Event
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v; events seen: %s", what, err, describe(seen))
		}
		if match(ev) {
			return ev, seen
		}
		seen = append(seen, ev)
	}
}

// describe summarises events for failure messages.
func describe(evs []Event) string {
	var parts []string
	for _, ev := range evs {
		s := ev.Type.String()
		if ev.TypeURL != "" {
			s += " " + ev.TypeURL.MessageName()
		}
		if len(ev.Resources) > 0 {
			s += " +" + strings.Join(slices.Sorted(mapsKeys(ev.Resources)), ",")
		}
		if len(ev.Removed) > 0 {
			s += " -" + strings.Join(ev.Removed, ",")
		}
		if len(ev.Rejected) > 0 {
			s += " !" + strings.Join(slices.Sorted(mapsKeys(ev.Rejected)), ",")
		}
		if ev.Err != nil {
			s += " err=" + ev.Err.Error()
		}
		parts = append(parts, "["+s+"]")
	}
	return strings.Join(parts, " ")
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// isResponse matches a response event of typeURL (either protocol) that accepted
// (at least) the given names.
func isResponse(typeURL TypeURL, names ...string) func(Event) bool {
	return func(ev Event) bool {
		if (ev.Type != EventResponse && ev.Type != EventDeltaResponse) || ev.TypeURL != typeURL {
			return false
		}
		for _, n := range names {
			if _, ok := ev.Resources[n]; !ok {
				return false
			}
		}
		return true
	}
}

// --- resources ---

func edsCluster(name string) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 name,
		ConnectTimeout:       durationpb.New(time.Second),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{
			EdsConfig: &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}},
		},
	}
}

// badCluster fails validation: a connect timeout must be positive.
func badCluster(name string) *clusterv3.Cluster {
	c := edsCluster(name)
	c.ConnectTimeout = durationpb.New(-time.Second)
	return c
}

func cla(name string, port uint32) *endpointv3.ClusterLoadAssignment {
	return &endpointv3.ClusterLoadAssignment{
		ClusterName: name,
		Endpoints: []*endpointv3.LocalityLbEndpoints{{
			LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
					Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
						Address: "10.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
					}}},
				}},
			}},
		}},
	}
}

func routeConfig(name, cluster string) *routev3.RouteConfiguration {
	return &routev3.RouteConfiguration{
		Name: name,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    "vh",
			Domains: []string{"*"},
			Routes: []*routev3.Route{{
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster}}},
			}},
		}},
	}
}

func httpListener(t testing.TB, name, route string) *listenerv3.Listener {
	router, err := anypb.New(&routerv3.Router{})
	if err != nil {
		t.Fatal(err)
	}
	hcm, err := anypb.New(&hcmv3.HttpConnectionManager{
		StatPrefix: "http",
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			RouteConfigName: route,
			ConfigSource:    &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}},
		}},
		HttpFilters: []*hcmv3.HttpFilter{{Name: "envoy.filters.http.router", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &listenerv3.Listener{
		Name: name,
		Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: "0.0.0.0", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 8080},
		}}},
		FilterChains: []*listenerv3.FilterChain{{
			Filters: []*listenerv3.Filter{{Name: "envoy.filters.network.http_connection_manager", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcm}}},
		}},
	}
}

// snapshot builds a snapshot of the given resources, by type.
func snapshot(t testing.TB, version string, res map[TypeURL][]types.Resource) *cachev3.Snapshot {
	t.Helper()
	m := make(map[string][]types.Resource, len(res))
	for k, v := range res {
		m[string(k)] = v
	}
	s, err := cachev3.NewSnapshot(version, m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newSnapshotCP starts a server over an ADS snapshot cache holding snap for testNode.
func newSnapshotCP(t testing.TB, snap *cachev3.Snapshot) (*cp, cachev3.SnapshotCache) {
	t.Helper()
	sc := cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil)
	if snap != nil {
		if err := sc.SetSnapshot(context.Background(), testNode, snap); err != nil {
			t.Fatal(err)
		}
	}
	return newCP(t, sc), sc
}

func setSnapshot(t testing.TB, sc cachev3.SnapshotCache, snap *cachev3.Snapshot) {
	t.Helper()
	if err := sc.SetSnapshot(context.Background(), testNode, snap); err != nil {
		t.Fatal(err)
	}
}

// newLinearCP starts a server over one LinearCache per given type.
func newLinearCP(t testing.TB, typeURLs ...TypeURL) (*cp, map[TypeURL]*cachev3.LinearCache) {
	t.Helper()
	caches := make(map[TypeURL]*cachev3.LinearCache)
	mux := &cachev3.MuxCache{
		Classify:      func(r *cachev3.Request) string { return r.GetTypeUrl() },
		ClassifyDelta: func(r *cachev3.DeltaRequest) string { return r.GetTypeUrl() },
		Caches:        map[string]cachev3.Cache{},
	}
	for _, u := range typeURLs {
		lc := cachev3.NewLinearCache(string(u))
		caches[u] = lc
		mux.Caches[string(u)] = lc
	}
	return newCP(t, mux), caches
}
