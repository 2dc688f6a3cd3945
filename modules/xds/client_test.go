package xds

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// TestConnectErrors: configuration problems fail Connect with an *Error of a kind that
// tells what to fix.
func TestConnectErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	good := testConfig("127.0.0.1:1", true)
	tests := []struct {
		name string
		ctx  context.Context
		cfg  func(AdsConfig) AdsConfig
		opts []ClientOption
		want Kind
		is   error
	}{
		{"no server", nil, func(c AdsConfig) AdsConfig { c.Server = ""; return c }, nil, KindConnection, ErrInvalidConfig},
		{"no node", nil, func(c AdsConfig) AdsConfig { c.Node = Node{}; return c }, nil, KindConnection, ErrInvalidConfig},
		{"unreadable CA", nil, func(c AdsConfig) AdsConfig { c.Auth = Auth{CAFile: "/nonexistent/ca.pem"}; return c }, nil, KindAuth, nil},
		{"cancelled", cancelled, nil, nil, KindCancelled, context.Canceled},
		{"bad initial subscription", nil, nil, []ClientOption{WithSubscription("nope")}, KindInvalidResource, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			cfg := good
			if tt.cfg != nil {
				cfg = tt.cfg(cfg)
			}
			c, err := Connect(ctx, cfg, tt.opts...)
			if err == nil {
				c.Close()
				t.Fatal("Connect succeeded")
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != tt.want {
				t.Errorf("error %v, want an *Error of kind %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

// TestLifecycle: Next honours its context, Close stops everything, and afterwards Next,
// Subscribe and Close report KindClosed.
func TestLifecycle(t *testing.T) {
	srv, _ := newSnapshotCP(t, nil)
	c, err := Connect(context.Background(), testConfig(srv.addr, true))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Next(ctx); !errors.Is(err, ErrCancelled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next with an expiring context: %v", err)
	}

	// A Next blocked when Close is called returns KindClosed.
	done := make(chan error, 1)
	go func() {
		_, err := c.Next(context.Background())
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("blocked Next after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still blocked after Close")
	}
	if _, err := c.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v", err)
	}
	if err := c.Subscribe(ClusterType); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

// TestSlowConsumer: events queue without bound, so a consumer that does not call Next
// holds nothing up: the state keeps up with the server, and every event is delivered in
// order afterwards.
func TestSlowConsumer(t *testing.T) {
	srv, lcs := newLinearCP(t, EndpointType)
	lc := lcs[EndpointType]
	if err := lc.UpdateResource("e", cla("e", 1)); err != nil {
		t.Fatal(err)
	}
	c := connect(t, testConfig(srv.addr, true))
	if err := c.Subscribe(EndpointType, "e"); err != nil {
		t.Fatal(err)
	}
	const updates = 300
	eventually(t, 5*time.Second, "e", func() bool { return len(c.State(EndpointType)) == 1 })
	for i := 2; i <= updates; i++ {
		if err := lc.UpdateResource("e", cla("e", uint32(i))); err != nil {
			t.Fatal(err)
		}
		// Wait for each update to be ACKed, so the server sends every one of them.
		eventually(t, 5*time.Second, "the update", func() bool { return port(c.State(EndpointType)["e"]) == uint32(i) })
	}
	var ports []uint32
	for len(ports) < updates {
		ev, _ := waitEvent(t, c, 5*time.Second, "an update", isResponse(EndpointType, "e"))
		ports = append(ports, port(ev.Resources["e"]))
	}
	for i, p := range ports {
		if p != uint32(i+1) {
			t.Fatalf("event %d has port %d: events out of order or lost", i, p)
		}
	}
}

func port(r resource.Resource) uint32 {
	cla, ok := r.(*resource.ClusterLoadAssignment)
	if !ok || len(cla.Localities) == 0 || len(cla.Localities[0].Endpoints) == 0 {
		return 0
	}
	return cla.Localities[0].Endpoints[0].Address.Port
}

// TestSemanticValidation: resources that pass go-control-plane's generated validation but
// that Envoy would refuse (a regex that does not compile, weights summing to 0) are
// rejected before they are accepted.
func TestSemanticValidation(t *testing.T) {
	badRegex := routeConfig("regex", "c")
	badRegex.VirtualHosts[0].Routes[0].Match.PathSpecifier = &routev3.RouteMatch_SafeRegex{
		SafeRegex: &matcherv3.RegexMatcher{Regex: "("},
	}
	zeroWeights := routeConfig("weights", "c")
	zeroWeights.VirtualHosts[0].Routes[0].Action = &routev3.Route_Route{Route: &routev3.RouteAction{
		ClusterSpecifier: &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{
			Clusters: []*routev3.WeightedCluster_ClusterWeight{{Name: "a", Weight: wrapperspb.UInt32(0)}, {Name: "b", Weight: wrapperspb.UInt32(0)}},
		}},
	}}
	srv, _ := newSnapshotCP(t, snapshot(t, "v1", map[TypeURL][]types.Resource{
		RouteType: {routeConfig("good", "c"), badRegex, zeroWeights},
	}))
	c := connect(t, testConfig(srv.addr, true))
	if err := c.Subscribe(RouteType, "good", "regex", "weights"); err != nil {
		t.Fatal(err)
	}
	ev, _ := waitEvent(t, c, 5*time.Second, "routes", isResponse(RouteType, "good"))
	for name, want := range map[string]string{"regex": "safe_regex", "weights": "weight"} {
		err := ev.Rejected[name]
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Rejected[%q] = %v, want a reason about %s", name, err, want)
		}
	}
	if len(c.State(RouteType)) != 1 {
		t.Errorf("State %v, want only the good route", c.State(RouteType))
	}
}

// TestCustomType: a type the resource package has no view for is delivered as a
// CustomResource, decoded when its message type is linked in.
func TestCustomType(t *testing.T) {
	url := TypeURLOf(&corev3.TypedExtensionConfig{})
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			srv, lcs := newLinearCP(t, url)
			cfgAny, err := anypb.New(&corev3.Locality{Region: "r"})
			if err != nil {
				t.Fatal(err)
			}
			if err := lcs[url].UpdateResource("ext", &corev3.TypedExtensionConfig{Name: "ext", TypedConfig: cfgAny}); err != nil {
				t.Fatal(err)
			}
			if err := lcs[url].UpdateResource("bad", &corev3.TypedExtensionConfig{Name: "bad"}); err != nil { // typed_config is required
				t.Fatal(err)
			}
			c := connect(t, testConfig(srv.addr, p.delta))
			if err := c.Subscribe(url); err != nil {
				t.Fatal(err)
			}
			ev, _ := waitEvent(t, c, 5*time.Second, "ext", isResponse(url, "ext"))
			r, ok := ev.Resources["ext"].(*CustomResource)
			if !ok || r.Name() != "ext" || r.TypeURL() != string(url) {
				t.Fatalf("resource %#v", ev.Resources["ext"])
			}
			if m, ok := r.Proto().(*corev3.TypedExtensionConfig); !ok || !proto.Equal(m.GetTypedConfig(), cfgAny) {
				t.Errorf("Proto() = %v", r.Proto())
			}
			if ev.Rejected["bad"] == nil {
				t.Errorf("bad was not rejected: %s", describe([]Event{ev}))
			}
		})
	}
}

// TestDecodeOne covers the decoding corner cases a real server rarely sends.
func TestDecodeOne(t *testing.T) {
	good, _ := anypb.New(edsCluster("a"))
	listener, _ := anypb.New(httpListener(t, "l", "r"))
	unknown := &anypb.Any{TypeUrl: "type.googleapis.com/example.v1.Unknown", Value: []byte{1, 2}}
	tests := []struct {
		name        string
		url         TypeURL
		a           *anypb.Any
		wrapper     string
		wantName    string
		wantErrText string
	}{
		{"plain", ClusterType, good, "", "a", ""},
		{"wrapper agrees", ClusterType, good, "a", "a", ""},
		{"wrapper disagrees", ClusterType, good, "b", "b", "calls itself"},
		{"wrong type", ClusterType, listener, "", "", "Listener in a response of type"},
		{"malformed name", ClusterType, good, "xdstp:bad", "xdstp:bad", "malformed resource name"},
		{"unknown type in delta", "type.googleapis.com/example.v1.Unknown", unknown, "u", "u", ""},
		{"unknown type unnamed", "type.googleapis.com/example.v1.Unknown", unknown, "", "", "not linked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := decodeOne(tt.url, tt.a, tt.wrapper, "")
			if r.name != tt.wantName {
				t.Errorf("name %q, want %q", r.name, tt.wantName)
			}
			switch {
			case tt.wantErrText == "" && r.err != nil:
				t.Errorf("error %v", r.err)
			case tt.wantErrText != "" && (r.err == nil || !strings.Contains(r.err.Error(), tt.wantErrText)):
				t.Errorf("error %v, want one containing %q", r.err, tt.wantErrText)
			case r.err != nil && KindOf(r.err) != KindInvalidResource:
				t.Errorf("error kind %q", KindOf(r.err))
			}
		})
	}
}

// TestMailbox: FIFO order across growth, compaction and reuse, and several readers
// waiting on one mailbox all get served.
func TestMailbox(t *testing.T) {
	m := newMailbox[int]()
	next := 0
	for round := range 3 {
		for i := range 3000 {
			m.push(round*3000 + i)
			if i%3 == 0 {
				v, _ := m.pop()
				if v != next {
					t.Fatalf("popped %d, want %d", v, next)
				}
				next++
			}
		}
	}
	for {
		v, ok := m.pop()
		if !ok {
			break
		}
		if v != next {
			t.Fatalf("popped %d, want %d", v, next)
		}
		next++
	}
	if next != 9000 {
		t.Fatalf("popped %d items", next)
	}

	got := make(chan int, 2)
	for range 2 {
		go func() {
			for {
				<-m.ready
				if v, ok := m.pop(); ok {
					got <- v
					return
				}
			}
		}()
	}
	m.push(1)
	m.push(2)
	var vals []int
	for range 2 {
		select {
		case v := <-got:
			vals = append(vals, v)
		case <-time.After(5 * time.Second):
			t.Fatalf("a reader was not woken; got %v", vals)
		}
	}
	slices.Sort(vals)
	if fmt.Sprint(vals) != "[1 2]" {
		t.Errorf("readers got %v", vals)
	}
}
