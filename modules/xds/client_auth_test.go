package xds

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
)

// TestClientAuth runs the ADS stream with bearer and mTLS credentials against a server
// that checks them, and checks that a wrong token and a wrong CA are reported as
// EventDisconnected with KindAuth.
func TestClientAuth(t *testing.T) {
	serverCA := newTestCA(t, "server-ca")
	clientCA := newTestCA(t, "client-ca")
	otherCA := newTestCA(t, "other-ca")
	clientCert := clientCA.issue(t, x509.ExtKeyUsageClientAuth)
	newCache := func() cachev3.SnapshotCache {
		sc := cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil)
		if err := sc.SetSnapshot(t.Context(), testNode, snapshot(t, "v1", map[TypeURL][]types.Resource{ClusterType: {edsCluster("a")}})); err != nil {
			t.Fatal(err)
		}
		return sc
	}
	bearerSrv := newTLSCP(t, newCache(), nil, "s3cret")
	mtlsSrv := newTLSCP(t, newCache(), serverTLS(t, serverCA, clientCA), "")

	tests := []struct {
		name   string
		server *cp
		auth   Auth
		ok     bool
	}{
		{"bearer", bearerSrv, Auth{Mode: AuthBearer, Token: "s3cret"}, true},
		{"wrong token", bearerSrv, Auth{Mode: AuthBearer, Token: "wrong"}, false},
		{"mtls", mtlsSrv, Auth{Mode: AuthMTLS, CertPEM: clientCert.certPEM, KeyPEM: clientCert.keyPEM, CAPEM: serverCA.certPEM}, true},
		{"wrong CA", mtlsSrv, Auth{Mode: AuthMTLS, CertPEM: clientCert.certPEM, KeyPEM: clientCert.keyPEM, CAPEM: otherCA.certPEM}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(tt.server.addr, true)
			cfg.Auth = tt.auth
			c := connect(t, cfg)
			if err := c.Subscribe(ClusterType); err != nil {
				t.Fatal(err)
			}
			ev, _ := waitEvent(t, c, 10*time.Second, "the first outcome", func(ev Event) bool {
				return ev.Type == EventDisconnected || isResponse(ClusterType, "a")(ev)
			})
			if tt.ok {
				if ev.Type == EventDisconnected {
					t.Fatalf("disconnected: %v", ev.Err)
				}
				return
			}
			if ev.Type != EventDisconnected || !errors.Is(ev.Err, ErrAuth) {
				t.Fatalf("event %s, want EventDisconnected with KindAuth", describe([]Event{ev}))
			}
			var e *Error
			if !errors.As(ev.Err, &e) {
				t.Errorf("error %T is not an *Error", ev.Err)
			}
		})
	}
}

// TestWaitForInitialResponse: with WithWaitForInitialResponse, Connect returns once the
// server answered, fails at once with KindAuth on refused credentials, and fails with
// KindConnection after InitialResponseTimeout when the server never answers.
func TestWaitForInitialResponse(t *testing.T) {
	srv := newTLSCP(t, func() cachev3.Cache {
		sc := cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil)
		if err := sc.SetSnapshot(t.Context(), testNode, snapshot(t, "v1", map[TypeURL][]types.Resource{ClusterType: {edsCluster("a")}})); err != nil {
			t.Fatal(err)
		}
		return sc
	}(), nil, "s3cret")
	tests := []struct {
		name     string
		token    string
		sub      []string
		timeout  time.Duration
		wantKind Kind
	}{
		{"answered", "s3cret", nil, 5 * time.Second, ""},
		{"refused", "wrong", nil, 5 * time.Second, KindAuth},
		{"never answered", "s3cret", []string{"missing"}, 200 * time.Millisecond, KindConnection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(srv.addr, false)
			cfg.Auth = Auth{Mode: AuthBearer, Token: tt.token}
			cfg.InitialResponseTimeout = tt.timeout
			start := time.Now()
			c, err := Connect(t.Context(), cfg, WithSubscription(ClusterType, tt.sub...), WithWaitForInitialResponse(true))
			if KindOf(err) != tt.wantKind {
				t.Fatalf("Connect: %v, want kind %q", err, tt.wantKind)
			}
			if err != nil {
				if d := time.Since(start); tt.wantKind == KindAuth && d > 3*time.Second {
					t.Errorf("an auth failure took %v to report", d)
				}
				return
			}
			defer c.Close()
			if _, ok := c.State(ClusterType)["a"]; !ok {
				// The first response was received; its event may still be in the queue,
				// but the state is already there.
				waitEvent(t, c, 5*time.Second, "a", isResponse(ClusterType, "a"))
			}
		})
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
