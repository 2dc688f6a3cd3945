package v1

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

// validMeshlet returns a Meshlet that uses every field, so each test case breaks one thing.
func validMeshlet() *Meshlet {
	return &Meshlet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"},
		Spec: MeshletSpec{
			Client: []ServiceRef{{Namespace: "shop", Meshlet: "stock", Service: "grpc"}},
			Server: &Server{
				Selector: map[string]string{"app": "cart"},
				Services: []ServerService{
					{Name: "http", MaxConn: ptr[int32](100), IdleTimeout: &metav1.Duration{Duration: time.Minute}},
					{Name: "admin"},
				},
				Canary: []CanaryVersion{{Version: "v1", Weight: 99}, {Version: "v2", Weight: 1}},
			},
		},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(m *Meshlet)
		// want lists "field: substring" pairs; empty means valid.
		want []string
	}{
		{name: "valid", modify: func(*Meshlet) {}},
		{name: "empty spec", modify: func(m *Meshlet) { m.Spec = MeshletSpec{} }},
		{name: "client only", modify: func(m *Meshlet) { m.Spec.Server = nil }},
		{name: "zero idle timeout", modify: func(m *Meshlet) {
			m.Spec.Server.Services[0].IdleTimeout = &metav1.Duration{}
		}},
		{name: "weights at bounds", modify: func(m *Meshlet) {
			m.Spec.Server.Canary = []CanaryVersion{{Version: "a", Weight: 0}, {Version: "b", Weight: 100}}
		}},
		{
			name:   "missing name",
			modify: func(m *Meshlet) { m.Name = "" },
			want:   []string{"metadata.name: Required"},
		},
		{
			name:   "dotted name",
			modify: func(m *Meshlet) { m.Name = "cart.v2" },
			want:   []string{"metadata.name: Invalid value"},
		},
		{
			name:   "missing namespace",
			modify: func(m *Meshlet) { m.Namespace = "" },
			want:   []string{"metadata.namespace: Required"},
		},
		{
			name: "client fields missing",
			modify: func(m *Meshlet) {
				m.Spec.Client = []ServiceRef{{}}
			},
			want: []string{
				"spec.client[0].namespace: Required",
				"spec.client[0].meshlet: Required",
				"spec.client[0].service: Required",
			},
		},
		{
			name: "client fields not labels",
			modify: func(m *Meshlet) {
				m.Spec.Client = []ServiceRef{{Namespace: "Shop", Meshlet: "a.b", Service: strings.Repeat("x", 64)}}
			},
			want: []string{
				"spec.client[0].namespace: Invalid value",
				"spec.client[0].meshlet: Invalid value",
				"spec.client[0].service: Invalid value",
			},
		},
		{
			name: "duplicate client",
			modify: func(m *Meshlet) {
				m.Spec.Client = append(m.Spec.Client, m.Spec.Client[0])
			},
			want: []string{`spec.client[1]: Duplicate value: "grpc.stock.shop"`},
		},
		{
			name:   "missing selector",
			modify: func(m *Meshlet) { m.Spec.Server.Selector = nil },
			want:   []string{"spec.server.selector: Required"},
		},
		{
			name:   "invalid selector",
			modify: func(m *Meshlet) { m.Spec.Server.Selector = map[string]string{"-bad": "ok", "app": "no spaces"} },
			want: []string{
				"spec.server.selector[-bad]: Invalid value",
				"spec.server.selector[app]: Invalid value",
			},
		},
		{
			name:   "no services",
			modify: func(m *Meshlet) { m.Spec.Server.Services = nil },
			want:   []string{"spec.server.services: Required"},
		},
		{
			name:   "service name missing",
			modify: func(m *Meshlet) { m.Spec.Server.Services[1].Name = "" },
			want:   []string{"spec.server.services[1].name: Required"},
		},
		{
			name:   "service name not a label",
			modify: func(m *Meshlet) { m.Spec.Server.Services[1].Name = "Admin_API" },
			want:   []string{"spec.server.services[1].name: Invalid value"},
		},
		{
			name:   "duplicate service",
			modify: func(m *Meshlet) { m.Spec.Server.Services[1].Name = "http" },
			want:   []string{`spec.server.services[1].name: Duplicate value: "http"`},
		},
		{
			name:   "maxConn zero",
			modify: func(m *Meshlet) { m.Spec.Server.Services[0].MaxConn = ptr[int32](0) },
			want:   []string{"spec.server.services[0].maxConn: Invalid value: 0: must be at least 1"},
		},
		{
			name: "negative idle timeout",
			modify: func(m *Meshlet) {
				m.Spec.Server.Services[0].IdleTimeout = &metav1.Duration{Duration: -time.Second}
			},
			want: []string{`spec.server.services[0].idleTimeout: Invalid value: "-1s": must not be negative`},
		},
		{
			name: "weights out of range",
			modify: func(m *Meshlet) {
				m.Spec.Server.Canary = []CanaryVersion{{Version: "v1", Weight: -1}, {Version: "v2", Weight: 101}}
			},
			want: []string{
				"spec.server.canary[0].weight: Invalid value: -1: must be between 0 and 100, inclusive",
				"spec.server.canary[1].weight: Invalid value: 101: must be between 0 and 100, inclusive",
			},
		},
		{
			name: "canary version missing, invalid and repeated",
			modify: func(m *Meshlet) {
				m.Spec.Server.Canary = []CanaryVersion{{Weight: 1}, {Version: "v 2"}, {Version: "v1"}, {Version: "v1"}}
			},
			want: []string{
				"spec.server.canary[0].version: Required",
				"spec.server.canary[1].version: Invalid value",
				`spec.server.canary[3].version: Duplicate value: "v1"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMeshlet()
			tt.modify(m)
			errs := m.Validate()
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tt.want), errs.ToAggregate())
			}
			for i, want := range tt.want {
				if got := errs[i].Error(); !strings.Contains(got, want) {
					t.Errorf("error %d = %q, want it to contain %q", i, got, want)
				}
			}
		})
	}
}

func TestValidateNameMatchesDNSLabel(t *testing.T) {
	for name, ok := range map[string]bool{"cart": true, "a-1": true, "a.b": false, "A": false, strings.Repeat("a", 64): false} {
		if got := len(ValidateName(name, false)) == 0; got != ok {
			t.Errorf("ValidateName(%q) valid = %v, want %v", name, got, ok)
		}
	}
}

func TestServiceRefID(t *testing.T) {
	ref := ServiceRef{Namespace: "shop", Meshlet: "stock", Service: "grpc"}
	if got, want := ref.ID(), "grpc.stock.shop"; got != want {
		t.Errorf("ID() = %q, want %q", got, want)
	}
}

func TestDeepCopyIsIndependent(t *testing.T) {
	m := validMeshlet()
	c := m.DeepCopy()
	c.Spec.Server.Selector["app"] = "other"
	*c.Spec.Server.Services[0].MaxConn = 7
	c.Spec.Client[0].Service = "changed"
	if m.Spec.Server.Selector["app"] != "cart" || *m.Spec.Server.Services[0].MaxConn != 100 || m.Spec.Client[0].Service != "grpc" {
		t.Fatalf("DeepCopy shares memory with the original: %+v", m.Spec)
	}
}
