package resource

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// TestTypeURLs pins the derived type URLs to the strings of the xDS protocol.
func TestTypeURLs(t *testing.T) {
	for got, want := range map[string]string{
		ListenerTypeURL:              "type.googleapis.com/envoy.config.listener.v3.Listener",
		ClusterTypeURL:               "type.googleapis.com/envoy.config.cluster.v3.Cluster",
		RouteConfigurationTypeURL:    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
		ClusterLoadAssignmentTypeURL: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
		SecretTypeURL:                "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if !Supported(want) {
			t.Errorf("%q is not supported", want)
		}
	}
	if Supported("type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig") {
		t.Error("an unrelated type is supported")
	}
}

// TestDecodeDispatch checks that Decode gives every kind the same view as its typed
// decoder, keeping the bytes it was given.
func TestDecodeDispatch(t *testing.T) {
	for _, tc := range []struct {
		msg  proto.Message
		name string
		kind string
	}{
		{validListener(t), "ingress", "*resource.Listener"},
		{validCluster(t), "outbound|8080||backend.default.svc", "*resource.Cluster"},
		{validRouteConfiguration(t), "web-routes", "*resource.RouteConfiguration"},
		{validClusterLoadAssignment(), "backend.default.svc", "*resource.ClusterLoadAssignment"},
		{validSecret(t), "default", "*resource.Secret"},
	} {
		raw := mustMarshal(t, tc.msg)
		url := typeURLOf(tc.msg)
		r, err := Decode(url, raw)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if got := fmt.Sprintf("%T", r); got != tc.kind {
			t.Errorf("%s decodes to %s", url, got)
		}
		if r.Name() != tc.name || r.TypeURL() != url || !bytes.Equal(r.Raw(), raw) || !proto.Equal(r.Proto(), tc.msg) {
			t.Errorf("%s: name %q, type %q, raw kept %v, proto equal %v", url, r.Name(), r.TypeURL(), bytes.Equal(r.Raw(), raw), proto.Equal(r.Proto(), tc.msg))
		}
		// Another host in the type URL names the same message.
		if _, err := Decode("example.com/x/"+string(fullName(tc.msg)), raw); err != nil {
			t.Errorf("%s with another host: %v", url, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	cluster := validCluster(t)
	clusterAny := mustAny(t, cluster)
	raw := mustMarshal(t, cluster)
	tests := []struct {
		name     string
		decode   func() error
		cause    error
		typeURL  string
		resource string
		reasons  []string
	}{
		{
			name:    "unsupported type URL",
			decode:  func() error { _, err := Decode("type.googleapis.com/acme.Widget", raw); return err },
			cause:   ErrUnsupportedType,
			typeURL: "type.googleapis.com/acme.Widget",
			reasons: []string{`no decoder for type URL "type.googleapis.com/acme.Widget"`},
		},
		{
			name:     "wrong type in the Any",
			decode:   func() error { _, err := DecodeListener(clusterAny); return err },
			cause:    ErrWrongType,
			typeURL:  ListenerTypeURL,
			resource: cluster.Name,
			reasons:  []string{`type URL "type.googleapis.com/envoy.config.cluster.v3.Cluster" is not envoy.config.listener.v3.Listener`},
		},
		{
			name:    "nil Any",
			decode:  func() error { _, err := DecodeSecret(nil); return err },
			cause:   ErrWrongType,
			typeURL: SecretTypeURL,
			reasons: []string{"no resource"},
		},
		{
			name: "truncated bytes still name the resource",
			decode: func() error {
				_, err := DecodeCluster(&anypb.Any{TypeUrl: ClusterTypeURL, Value: raw[:len(raw)-3]})
				return err
			},
			cause:    ErrMalformed,
			typeURL:  ClusterTypeURL,
			resource: cluster.Name,
			reasons:  []string{"cannot unmarshal: "},
		},
		{
			name:    "garbage",
			decode:  func() error { _, err := Decode(RouteConfigurationTypeURL, []byte{0xff, 0xff, 0xff}); return err },
			cause:   ErrMalformed,
			typeURL: RouteConfigurationTypeURL,
			reasons: []string{"cannot unmarshal: "},
		},
		{
			name: "invalid resource",
			decode: func() error {
				l := validListener(t)
				l.Address = nil
				l.FilterChains[0].Filters[0].Name = ""
				_, err := DecodeListener(mustAny(t, l))
				return err
			},
			typeURL:  ListenerTypeURL,
			resource: "ingress",
			reasons:  []string{"filter_chains[0].filters[0].name: value length", "listener has no address"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode()
			checkReasons(t, err, tt.reasons)
			var ve *ValidationError
			errors.As(err, &ve)
			if ve.TypeURL != tt.typeURL || ve.Name != tt.resource {
				t.Errorf("type URL %q name %q, want %q %q", ve.TypeURL, ve.Name, tt.typeURL, tt.resource)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("%v is not %v", err, tt.cause)
			}
			if tt.cause == nil && ve.Err != nil {
				t.Errorf("unexpected cause %v", ve.Err)
			}
		})
	}
}

func TestValidationErrorMessage(t *testing.T) {
	for _, tt := range []struct {
		err  *ValidationError
		want string
	}{
		{&ValidationError{TypeURL: ClusterTypeURL, Name: "a b", Reasons: []string{"x: bad", "y: worse"}}, `invalid Cluster "a b": x: bad; y: worse`},
		{&ValidationError{TypeURL: SecretTypeURL, Reasons: []string{"no resource"}}, `invalid Secret: no resource`},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// TestReasonsAreBounded checks that a resource with a great many problems produces a NACK
// of bounded size that still counts what it leaves out.
func TestReasonsAreBounded(t *testing.T) {
	rc := validRouteConfiguration(t)
	const bad = 3 * maxReasons
	rc.VirtualHosts[0].Routes = nil
	for range bad {
		rc.VirtualHosts[0].Routes = append(rc.VirtualHosts[0].Routes, clusterRoute(&routev3.RouteMatch{
			PathSpecifier: &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: "("}},
		}))
	}
	_, err := DecodeRouteConfiguration(mustAny(t, rc))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatal(err)
	}
	if len(ve.Reasons) != maxReasons+1 || ve.Reasons[maxReasons] != fmt.Sprintf("and %d more problems", bad-maxReasons) {
		t.Errorf("%d reasons, last %q", len(ve.Reasons), ve.Reasons[len(ve.Reasons)-1])
	}
}

// TestPeekName checks reading the name from corrupt bytes.
func TestPeekName(t *testing.T) {
	raw := mustMarshal(t, &listenerv3.Listener{StatPrefix: "p", Name: "late"})
	field := listenerKind.nameField
	for _, tt := range []struct {
		raw  []byte
		want string
	}{
		{raw, "late"},
		{raw[:len(raw)-1], "late"}, // the corruption is after the name
		{raw[:3], ""},              // the corruption is in the name
		{nil, ""},
		{[]byte{0x0a, 0x02, 0xff, 0xfe}, ""}, // not UTF-8
		{[]byte{0x0a, 0x01, 'x', 0xff}, "x"},
	} {
		if got := peekName(tt.raw, field); got != tt.want {
			t.Errorf("peekName(%x) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// TestViewsPrintOnlyTheirName checks that fmt never dumps a view's raw bytes.
func TestViewsPrintOnlyTheirName(t *testing.T) {
	l, err := DecodeListener(mustAny(t, validListener(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(l), fmt.Sprintf("%+v", l), fmt.Sprintf("%#v", l)} {
		if out != `Listener "ingress"` {
			t.Errorf("printed as %q", out)
		}
	}
	if !strings.Contains(fmt.Sprint(l.Address), "0.0.0.0:8443") {
		t.Errorf("address printed as %v", l.Address)
	}
}
