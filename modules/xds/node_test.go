package xds

import (
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestNodeProto(t *testing.T) {
	base := NewNode("sidecar~10.0.0.1~web-0.default~default.svc.cluster.local", "web")
	n := base.
		WithLocality("us-east", "us-east-1a", "rack-7").
		WithUserAgent("my-agent", "1.2.3").
		WithMetadata("NAMESPACE", "default").
		WithMetadata("LABELS", map[string]any{"app": "web", "replicas": 3}).
		WithMetadata("PORTS", []any{80, 443}).
		WithClientFeatures("envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw").
		WithClientFeatures("xds.config.resource-in-sotw")

	got, err := n.Proto()
	if err != nil {
		t.Fatal(err)
	}
	labels, _ := structpb.NewStruct(map[string]any{"app": "web", "replicas": 3})
	want := &corev3.Node{
		Id:       "sidecar~10.0.0.1~web-0.default~default.svc.cluster.local",
		Cluster:  "web",
		Locality: &corev3.Locality{Region: "us-east", Zone: "us-east-1a", SubZone: "rack-7"},
		Metadata: &structpb.Struct{Fields: map[string]*structpb.Value{
			"NAMESPACE": structpb.NewStringValue("default"),
			"LABELS":    structpb.NewStructValue(labels),
			"PORTS": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
				structpb.NewNumberValue(80), structpb.NewNumberValue(443)}}),
		}},
		UserAgentName:        "my-agent",
		UserAgentVersionType: &corev3.Node_UserAgentVersion{UserAgentVersion: "1.2.3"},
		ClientFeatures:       []string{"envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"},
	}
	if !proto.Equal(got, want) {
		t.Errorf("Proto() =\n%v\nwant\n%v", got, want)
	}
	if err := got.ValidateAll(); err != nil {
		t.Errorf("go-control-plane rejects the node: %v", err)
	}

	// The builder copies: base is untouched, and so is n after further With calls.
	if base.Metadata != nil || base.ClientFeatures != nil || base.Locality != (Locality{}) || base.UserAgentName != "" {
		t.Errorf("With methods changed the base node: %+v", base)
	}
	_ = n.WithMetadata("NAMESPACE", "other").WithClientFeatures("x")
	if n.Metadata["NAMESPACE"] != "default" || len(n.ClientFeatures) != 2 {
		t.Errorf("With methods changed their receiver: %+v", n)
	}
	// The message is the caller's to modify.
	got.ClientFeatures[0] = "changed"
	if n.ClientFeatures[0] == "changed" {
		t.Error("Proto shares ClientFeatures with the node")
	}
}

func TestNodeDefaults(t *testing.T) {
	got, err := NewNode("n1", "").Proto()
	if err != nil {
		t.Fatal(err)
	}
	if got.GetUserAgentName() != DefaultUserAgentName {
		t.Errorf("user agent name = %q, want %q", got.GetUserAgentName(), DefaultUserAgentName)
	}
	// Tests run without a module version: the default is "devel".
	if got.GetUserAgentVersion() != "devel" {
		t.Errorf("user agent version = %q, want devel", got.GetUserAgentVersion())
	}
	if got.Locality != nil || got.Metadata != nil || got.ClientFeatures != nil || got.Cluster != "" {
		t.Errorf("unset fields are set: %v", got)
	}
	// A locality with only a zone is kept as such.
	got, _ = NewNode("n1", "").WithLocality("", "z", "").Proto()
	if got.GetLocality().GetZone() != "z" || got.GetLocality().GetRegion() != "" {
		t.Errorf("locality = %v", got.GetLocality())
	}
}

func TestNodeValidate(t *testing.T) {
	tests := []struct {
		name    string
		node    Node
		wantErr []string // nil when valid
	}{
		{"minimal", NewNode("n", ""), nil},
		{"zero", Node{}, []string{"id is required"}},
		{"unsupported metadata type", NewNode("n", "").WithMetadata("b", 1).WithMetadata("a", struct{}{}),
			[]string{`metadata key "a"`, "invalid type"}},
		{"invalid UTF-8 in metadata", NewNode("n", "").WithMetadata("k", "\xff"),
			[]string{`metadata key "k"`, "invalid UTF-8"}},
		{"nested bad metadata", NewNode("n", "").WithMetadata("k", map[string]any{"x": []any{make(chan int)}}),
			[]string{`metadata key "k"`}},
		{"empty client feature", NewNode("n", "").WithClientFeatures("a", ""),
			[]string{"client feature 1 is empty"}},
		{"everything wrong", Node{Metadata: map[string]any{"k": struct{}{}}},
			[]string{"id is required", `metadata key "k"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.node.Validate()
			_, perr := tt.node.Proto()
			if tt.wantErr == nil {
				if err != nil || perr != nil {
					t.Fatalf("Validate() = %v, Proto() error = %v", err, perr)
				}
				return
			}
			if err == nil || perr == nil {
				t.Fatalf("Validate() = %v, Proto() error = %v; want errors", err, perr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) || !strings.Contains(perr.Error(), w) {
					t.Errorf("errors %q / %q do not contain %q", err, perr, w)
				}
			}
		})
	}
}

func TestModuleVersion(t *testing.T) {
	dep := func(path, version string, replace *debug.Module) *debug.Module {
		return &debug.Module{Path: path, Version: version, Replace: replace}
	}
	tests := []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"main module released", debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v1.4.0"}}, "v1.4.0"},
		{"main module from a checkout", debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "(devel)"}}, "devel"},
		{"dependency of xcaddy", debug.BuildInfo{
			Main: debug.Module{Path: "caddy"},
			Deps: []*debug.Module{dep("github.com/caddyserver/caddy/v2", "v2.11.9", nil), dep(modulePath, "v0.3.0", nil)},
		}, "v0.3.0"},
		{"replaced dependency", debug.BuildInfo{
			Main: debug.Module{Path: "app"},
			Deps: []*debug.Module{dep(modulePath, "v0.3.0", dep("github.com/fork/caddymesh", "v0.3.1-fork", nil))},
		}, "v0.3.1-fork"},
		{"replaced by a directory", debug.BuildInfo{
			Main: debug.Module{Path: "app"},
			Deps: []*debug.Module{dep(modulePath, "v0.3.0", dep("../caddymesh", "", nil))},
		}, "devel"},
		{"absent", debug.BuildInfo{Main: debug.Module{Path: "app"}}, "devel"},
	}
	for _, tt := range tests {
		if got := moduleVersion(&tt.info, modulePath); got != tt.want {
			t.Errorf("%s: moduleVersion = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestWithClientFeaturesDeduplicates(t *testing.T) {
	n := NewNode("n", "").WithClientFeatures("a", "b", "a").WithClientFeatures("b", "c")
	if !slices.Equal(n.ClientFeatures, []string{"a", "b", "c"}) {
		t.Errorf("ClientFeatures = %q", n.ClientFeatures)
	}
}
