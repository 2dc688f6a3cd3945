package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

func TestCaller(t *testing.T) {
	f := newFixture(t, worldMeshlets(), worldPods())
	tests := []struct {
		name, ns, pod string
		want          protocol.Code
		wantMeshlet   string
		wantReason    string
	}{
		{"labelled pod of an existing meshlet", "shop", "web-1", protocol.OK, "web", ""},
		{"meshlet with no client list is still a caller", "shop", "lonely-1", protocol.OK, "lonely", ""},
		{"unknown pod", "shop", "nobody", protocol.NotAllowed, "", "unknown"},
		{"pod in the wrong namespace", "data", "web-1", protocol.NotAllowed, "", "unknown"},
		{"pod without the meshlet label", "shop", "nolabel-1", protocol.NotAllowed, "", "no meshless/meshlet label"},
		{"pod whose meshlet does not exist", "shop", "ghost-1", protocol.NotAllowed, "", "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.p.Caller(tt.ns, tt.pod)
			if got := CodeOf(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantReason) {
				t.Errorf("error %q does not say %q", err, tt.wantReason)
			}
			if c.Meshlet != tt.wantMeshlet {
				t.Errorf("meshlet = %q, want %q", c.Meshlet, tt.wantMeshlet)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	f := newFixture(t, worldMeshlets(), worldPods())
	tests := []struct {
		name string
		pod  string // calling Pod in namespace shop
		dest protocol.ServiceID
		want protocol.Code
	}{
		{"listed service", "web-1", api, protocol.OK},
		{"listed service in another namespace", "web-1", db, protocol.OK},
		{"service of the meshlet not listed by the caller", "web-1", admin, protocol.NotAllowed},
		{"caller with no client list", "lonely-1", api, protocol.NotAllowed},
		{"unknown service of an existing meshlet", "web-1", sid("nope", "backend", "shop"), protocol.ServiceNotFound},
		{"unknown meshlet", "web-1", sid("api", "nope", "shop"), protocol.ServiceNotFound},
		{"unknown namespace", "web-1", sid("api", "backend", "nope"), protocol.ServiceNotFound},
		{"meshlet that serves nothing", "web-1", sid("api", "web", "shop"), protocol.ServiceNotFound},
		{"lookup comes before access control", "lonely-1", sid("nope", "backend", "shop"), protocol.ServiceNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.p.Caller("shop", tt.pod)
			if err != nil {
				t.Fatal(err)
			}
			d, err := f.p.Authorize(c, tt.dest)
			if got := CodeOf(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
			if err == nil && d.ID != tt.dest {
				t.Errorf("destination ID = %v, want %v", d.ID, tt.dest)
			}
		})
	}
}

func TestAuthorizeDestination(t *testing.T) {
	f := newFixture(t, worldMeshlets(), worldPods())
	d := f.mustAuthorize(t, "shop", "web-1", api)
	if d.MaxConn != 2 || d.IdleTimeout != 90*time.Second {
		t.Errorf("api: MaxConn %d, IdleTimeout %v; want 2, 90s", d.MaxConn, d.IdleTimeout)
	}
	if d.Server == nil || d.Server.Selector["app"] != "backend" {
		t.Errorf("api: Server = %+v, want backend's server spec", d.Server)
	}
	d = f.mustAuthorize(t, "shop", "web-1", db)
	if d.MaxConn != 0 || d.IdleTimeout != 0 {
		t.Errorf("db: MaxConn %d, IdleTimeout %v; want unset (0, 0)", d.MaxConn, d.IdleTimeout)
	}
	// The Server handed out is the Policy's copy: the collection's object stays untouched.
	d.Server.Selector["app"] = "changed"
	m, _ := f.meshlets.Get("data/store")
	if m.Spec.Server.Selector["app"] != "store" {
		t.Error("Destination.Server aliases the Meshlet in the collection")
	}
}

func TestAuthorizeZeroCaller(t *testing.T) {
	f := newFixture(t, worldMeshlets(), worldPods())
	if _, err := f.p.Authorize(Caller{Namespace: "shop", Meshlet: "web"}, api); CodeOf(err) != protocol.NotAllowed {
		t.Errorf("a Caller not made by Policy.Caller: %v, want not allowed", err)
	}
}

func TestAuthorizeInbound(t *testing.T) {
	f := newFixture(t, worldMeshlets(), worldPods())
	tests := []struct {
		name        string
		ns, meshlet string
		dest        protocol.ServiceID
		want        protocol.Code
	}{
		{"listed", "shop", "web", db, protocol.OK},
		{"not listed", "shop", "web", admin, protocol.NotAllowed},
		{"source meshlet does not exist", "shop", "ghost", api, protocol.NotAllowed},
		{"source meshlet in another namespace than claimed", "data", "web", api, protocol.NotAllowed},
		{"unknown service", "shop", "web", sid("nope", "store", "data"), protocol.ServiceNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.p.AuthorizeInbound(tt.ns, tt.meshlet, tt.dest)
			if got := CodeOf(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

func TestDestinationEndpoint(t *testing.T) {
	pods := append(worldPods(),
		newPod("shop", "backend-down", labels("app", "backend"), notReady),
		newPod("shop", "other-1", labels("app", "other")))
	f := newFixture(t, worldMeshlets(), pods)
	d, err := f.p.AuthorizeInbound("shop", "web", api)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ns, pod string
		want    protocol.Code
	}{
		{"shop", "backend-1", protocol.OK},
		{"shop", "backend-down", protocol.NoEndpoint},
		{"shop", "other-1", protocol.NoEndpoint},
		{"data", "backend-1", protocol.NoEndpoint},
		{"shop", "web-1", protocol.NoEndpoint},
	}
	for _, tt := range tests {
		ep, err := d.Endpoint(tt.ns, tt.pod)
		if got := CodeOf(err); got != tt.want {
			t.Errorf("Endpoint(%s/%s) = %v (%v), want %v", tt.ns, tt.pod, got, err, tt.want)
		}
		if err == nil && (ep.Name != tt.pod || ep.HostIP != "192.168.0.1" || ep.NodeName != "node-a" || ep.Key != "shop/"+tt.pod) {
			t.Errorf("Endpoint(%s/%s) = %+v", tt.ns, tt.pod, ep)
		}
	}
	if _, err := (Destination{}).Endpoint("shop", "backend-1"); CodeOf(err) != protocol.NoEndpoint {
		t.Errorf("zero Destination: %v, want no endpoint", err)
	}
}

func TestDestinationFull(t *testing.T) {
	for _, tt := range []struct {
		maxConn, active int
		want            bool
	}{
		{0, 1_000_000, false}, {2, 1, false}, {2, 2, true}, {2, 3, true},
	} {
		if got := (Destination{MaxConn: tt.maxConn}).Full(tt.active); got != tt.want {
			t.Errorf("MaxConn %d: Full(%d) = %v, want %v", tt.maxConn, tt.active, got, tt.want)
		}
	}
}

func TestCodeOf(t *testing.T) {
	refused := Refuse(protocol.NotAllowed, "because")
	tests := []struct {
		err  error
		want protocol.Code
	}{
		{nil, protocol.OK},
		{refused, protocol.NotAllowed},
		{fmt.Errorf("dialling: %w", refused), protocol.NotAllowed},
		{errors.New("something else"), protocol.GeneralFailure},
	}
	for _, tt := range tests {
		if got := CodeOf(tt.err); got != tt.want {
			t.Errorf("CodeOf(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	if got := refused.Error(); got != "not allowed: because" {
		t.Errorf("Error() = %q", got)
	}
}
