package xds

import (
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

func TestBuiltinTypeURLs(t *testing.T) {
	tests := []struct {
		typ  TypeURL
		msg  proto.Message
		kind string
	}{
		{ListenerType, &listenerv3.Listener{}, model.Listeners},
		{RouteType, &routev3.RouteConfiguration{}, model.RouteConfigurations},
		{ClusterType, &clusterv3.Cluster{}, model.Clusters},
		{EndpointType, &endpointv3.ClusterLoadAssignment{}, model.ClusterLoadAssignments},
		{SecretType, &tlsv3.Secret{}, model.Secrets},
	}
	builtins := BuiltinTypeURLs()
	if len(builtins) != len(tests) {
		t.Fatalf("BuiltinTypeURLs() has %d types, want %d", len(builtins), len(tests))
	}
	for i, tt := range tests {
		if builtins[i] != tt.typ {
			t.Errorf("BuiltinTypeURLs()[%d] = %s, want %s", i, builtins[i], tt.typ)
		}
		if got := TypeURLOf(tt.msg); got != tt.typ {
			t.Errorf("TypeURLOf(%T) = %s, want %s", tt.msg, got, tt.typ)
		}
		if err := tt.typ.Validate(); err != nil {
			t.Errorf("%s: %v", tt.typ, err)
		}
		if !tt.typ.IsBuiltin() {
			t.Errorf("%s is not builtin", tt.typ)
		}
		if got := tt.typ.Kind(); got != tt.kind {
			t.Errorf("%s.Kind() = %q, want %q", tt.typ, got, tt.kind)
		}
	}
}

func TestParseTypeURL(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // "" for valid
	}{
		{"type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig", ""},
		{"type.googleapis.com/Foo", ""},
		{"type.googleapis.com/_private.v1.Thing_2", ""},
		{"", "must start with"},
		{"envoy.config.cluster.v3.Cluster", "must start with"},
		{"https://type.googleapis.com/envoy.config.cluster.v3.Cluster", "must start with"},
		{"type.googleapis.com/", "missing protobuf message name"},
		{"type.googleapis.com/.envoy.Cluster", "not a fully qualified"},
		{"type.googleapis.com/envoy..Cluster", "not a fully qualified"},
		{"type.googleapis.com/envoy.Cluster.", "not a fully qualified"},
		{"type.googleapis.com/envoy.1Cluster", "not a fully qualified"},
		{"type.googleapis.com/envoy/Cluster", "not a fully qualified"},
		{"type.googleapis.com/envoy.Clus ter", "not a fully qualified"},
	}
	for _, tt := range tests {
		got, err := ParseTypeURL(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseTypeURL(%q): %v", tt.in, err)
		case tt.wantErr == "" && string(got) != tt.in:
			t.Errorf("ParseTypeURL(%q) = %q", tt.in, got)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseTypeURL(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
		case tt.wantErr != "" && !strings.Contains(err.Error(), "type URL"):
			t.Errorf("ParseTypeURL(%q) error %q does not say what it was parsing", tt.in, err)
		}
	}
}

func TestMustParseTypeURLPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParseTypeURL accepted a malformed type URL")
		}
	}()
	MustParseTypeURL("envoy.config.cluster.v3.Cluster")
}

func TestCustomKind(t *testing.T) {
	tests := []struct {
		typ  string
		want string
	}{
		{"envoy.config.core.v3.TypedExtensionConfig", "typedextensionconfigs"},
		{"envoy.config.route.v3.VirtualHost", "virtualhosts"},
		{"envoy.service.runtime.v3.Runtime", "runtimes"},
		{"example.v1.Policy", "policies"},
		{"example.v1.Gateway", "gateways"}, // vowel before y
		{"example.v1.Address", "addresses"},
		{"example.v1.Box", "boxes"},
		{"example.v1.Quiz", "quizes"}, // the simple rules double no consonant
		{"example.v1.Patch", "patches"},
		{"example.v1.Mesh", "meshes"},
		{"example.v1.Y", "ys"},
		{"Standalone", "standalones"},
		// Collides with RDS's kind: qualified by package.
		{"envoy.extensions.filters.network.thrift_proxy.v3.RouteConfiguration",
			"envoy.extensions.filters.network.thrift_proxy.v3.routeconfigurations"},
		{"example.Secret", "example.secrets"},
	}
	for _, tt := range tests {
		typ := MustParseTypeURL(TypeURLPrefix + tt.typ)
		if typ.IsBuiltin() {
			t.Errorf("%s is builtin", typ)
		}
		if got := typ.Kind(); got != tt.want {
			t.Errorf("%s.Kind() = %q, want %q", tt.typ, got, tt.want)
		}
		if got := typ.MessageName(); got != tt.typ {
			t.Errorf("MessageName() = %q, want %q", got, tt.typ)
		}
	}
	if got := TypeURLOf(&corev3.TypedExtensionConfig{}).Kind(); got != "typedextensionconfigs" {
		t.Errorf("TypeURLOf(TypedExtensionConfig).Kind() = %q", got)
	}
}
