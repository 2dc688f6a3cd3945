package identity

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestVerifyPeer(t *testing.T) {
	e := newEnv(t, "mesh", "rogue")
	p := e.provider(t, map[string]any{})
	rogue := e.provider(t, map[string]any{"authority": "rogue"})
	id := MeshletID("cluster.local", "a", "b")
	good, err := p.Certificate(context.Background(), id.String())
	if err != nil {
		t.Fatal(err)
	}
	untrusted, err := rogue.Certificate(context.Background(), id.String())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		td      string
		raw     [][]byte
		wantErr string
	}{
		{"leaf and intermediate", "cluster.local", good.Certificate, ""},
		{"no certificate", "cluster.local", nil, "presented no certificate"},
		{"garbage", "cluster.local", [][]byte{[]byte("nope")}, "parsing peer certificate 0"},
		{"intermediate missing", "cluster.local", good.Certificate[:1], "unknown authority"},
		{"other trust domain wanted", "other.test", good.Certificate, `peer certificate is from trust domain "cluster.local", want "other.test"`},
		{"untrusted root", "cluster.local", untrusted.Certificate, "unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPeer(p.TrustBundle(), tt.td, tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != id {
				t.Fatalf("got %v, %v; want %v", got, err, id)
			}
		})
	}
	if _, err := VerifyPeer(nil, "cluster.local", good.Certificate); err == nil {
		t.Error("VerifyPeer with no bundle succeeded")
	}
}

// TestMutualTLS runs handshakes between ServerConfig and ClientConfig over real sockets.
func TestMutualTLS(t *testing.T) {
	e := newEnv(t, "mesh", "rogue")
	providers := map[string]*Internal{
		"mesh":  e.provider(t, map[string]any{}),
		"other": e.provider(t, map[string]any{"trust_domain": "other.test"}), // same root
		"rogue": e.provider(t, map[string]any{"authority": "rogue"}),         // another root
	}
	only := func(want ID) func(ID) error {
		return func(peer ID) error {
			if peer != want {
				return errors.New("not allowed")
			}
			return nil
		}
	}
	tests := []struct {
		name                   string
		server, client         string // providers; client "" presents no certificate
		lenient                bool   // the client does not verify the server
		authorize, verifyPeer  func(ID) error
		wantServerErr, wantErr string // substrings; "" means success
	}{
		{name: "same mesh", server: "mesh", client: "mesh"},
		{name: "authorized", server: "mesh", client: "mesh",
			authorize: only(MeshletID("cluster.local", "shop", "cart")), verifyPeer: only(NodeID("cluster.local", "node-1"))},
		// The lenient clients present their certificate without checking the server's, so
		// that the server's checks are what fails.
		{name: "client of another trust domain", server: "mesh", client: "other", lenient: true,
			wantServerErr: `peer certificate is from trust domain "other.test", want "cluster.local"`, wantErr: "bad certificate"},
		{name: "client of another trust domain checks the server", server: "mesh", client: "other",
			wantServerErr: "bad certificate", wantErr: `peer certificate is from trust domain "cluster.local", want "other.test"`},
		{name: "server of another trust domain", server: "other", client: "mesh",
			wantServerErr: "bad certificate", wantErr: `peer certificate is from trust domain "other.test", want "cluster.local"`},
		{name: "client of an untrusted root", server: "mesh", client: "rogue", lenient: true,
			wantServerErr: "certificate signed by unknown authority", wantErr: "bad certificate"},
		{name: "server of an untrusted root", server: "rogue", client: "mesh",
			wantServerErr: "bad certificate", wantErr: "certificate signed by unknown authority"},
		{name: "client without a certificate", server: "mesh", client: "",
			wantServerErr: "didn't provide a certificate", wantErr: "certificate required"},
		{name: "authorize refuses", server: "mesh", client: "mesh", authorize: only(MeshletID("cluster.local", "shop", "web")),
			wantServerErr: "peer spiffe://cluster.local/ns/shop/meshlet/cart refused: not allowed", wantErr: "bad certificate"},
		{name: "client refuses the server", server: "mesh", client: "mesh", verifyPeer: only(NodeID("cluster.local", "node-2")),
			wantServerErr: "bad certificate", wantErr: "peer spiffe://cluster.local/node/node-1 refused: not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := providers[tt.server]
			serverID := NodeID(sp.TrustDomain(), "node-1")
			srv := startEcho(t, ServerConfig(sp, serverID, tt.authorize))

			var clientCfg *tls.Config
			var clientID ID
			if tt.client == "" {
				clientCfg = &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}
			} else {
				cp := providers[tt.client]
				clientID = MeshletID(cp.TrustDomain(), "shop", "cart")
				clientCfg = ClientConfig(cp, clientID, tt.verifyPeer)
				if tt.lenient {
					clientCfg.VerifyConnection = nil
				}
			}
			conn, err := dial(t, srv.addr(), clientCfg)
			res := srv.result(t)

			checkErr(t, "client", err, tt.wantErr)
			checkErr(t, "server", res.err, tt.wantServerErr)
			if tt.wantErr != "" {
				return
			}
			if res.peer != clientID {
				t.Errorf("server saw peer %v, want %v", res.peer, clientID)
			}
			if peer, err := PeerID(conn.ConnectionState()); err != nil || peer != serverID {
				t.Errorf("client saw peer %v, %v; want %v", peer, err, serverID)
			}
			if v := conn.ConnectionState().Version; v != tls.VersionTLS13 {
				t.Errorf("TLS version %x, want 1.3", v)
			}
		})
	}
}

func checkErr(t *testing.T, side string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: unexpected error: %v", side, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: error %v, want one containing %q", side, err, want)
	}
}

// TestRotationKeepsConnections checks renewal at half-life with a 2s lifetime: new
// handshakes get the new certificate, and a connection made with the old one keeps
// working, even after the old certificate has expired.
func TestRotationKeepsConnections(t *testing.T) {
	e := newEnv(t, "mesh")
	p := e.provider(t, map[string]any{"lifetime": "2s"})
	serverID, clientID := NodeID("cluster.local", "node-1"), MeshletID("cluster.local", "shop", "cart")
	srv := startEcho(t, ServerConfig(p, serverID, nil))
	clientCfg := ClientConfig(p, clientID, nil)

	old, err := dial(t, srv.addr(), clientCfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.result(t)
	oldLeaf := old.ConnectionState().PeerCertificates[0]

	start := time.Now()
	waitFor(t, 3*time.Second, func() bool {
		cur, err := p.Certificate(context.Background(), serverID.String())
		if err != nil {
			t.Fatal(err)
		}
		return !cur.Leaf.Equal(oldLeaf)
	})
	t.Logf("the server certificate changed after %s", time.Since(start).Round(10*time.Millisecond))

	fresh, err := dial(t, srv.addr(), clientCfg)
	if err != nil {
		t.Fatalf("handshake after rotation: %v", err)
	}
	srv.result(t)
	if fresh.ConnectionState().PeerCertificates[0].Equal(oldLeaf) {
		t.Error("a new handshake got the old certificate")
	}
	if err := roundTrip(old, "after rotation"); err != nil {
		t.Fatalf("the old connection broke at rotation: %v", err)
	}
	time.Sleep(time.Until(oldLeaf.NotAfter) + 100*time.Millisecond)
	if err := roundTrip(old, "after expiry"); err != nil {
		t.Fatalf("the old connection broke when its certificate expired: %v", err)
	}
}

// TestRootRotation checks the trust bundle across a root change: peers whose authority is
// "old" and peers whose authority is "new" verify each other when each lists the other's
// root in trusted_roots_pem_files, and not without it.
func TestRootRotation(t *testing.T) {
	e := newEnv(t, "old", "new")
	oldPEM, newPEM := e.rootPEM(t, "old"), e.rootPEM(t, "new")
	providers := map[string]*Internal{
		// On the old root, already trusting the new one (rotation step 1).
		"old+new": e.provider(t, map[string]any{"authority": "old", "trusted_roots_pem_files": []string{newPEM}}),
		// On the new root, still trusting the old one (rotation step 2).
		"new+old": e.provider(t, map[string]any{"authority": "new", "trusted_roots_pem_files": []string{oldPEM}}),
		// Not rotating.
		"old": e.provider(t, map[string]any{"authority": "old"}),
		"new": e.provider(t, map[string]any{"authority": "new"}),
	}
	for name, p := range providers {
		want := 1 + strings.Count(name, "+")
		if n := len(p.Roots()); n != want {
			t.Errorf("%s: %d roots, want %d", name, n, want)
		}
	}
	oldRoot, newRoot := providers["old"].Roots()[0], providers["new"].Roots()[0]
	if oldRoot.Equal(newRoot) {
		t.Fatal("the old and new authorities have the same root")
	}
	for _, name := range []string{"old+new", "new+old"} {
		roots := providers[name].Roots()
		if !slices.ContainsFunc(roots, oldRoot.Equal) || !slices.ContainsFunc(roots, newRoot.Equal) {
			t.Errorf("%s: the bundle lacks the old or the new root", name)
		}
	}

	tests := []struct {
		server, client string
		ok             bool
	}{
		// Mid-rotation: nodes on either root, each trusting both.
		{"old+new", "new+old", true},
		{"new+old", "old+new", true},
		// Nodes that have not started, or have finished, rotating, with those that trust
		// their root.
		{"old+new", "old", true},
		{"old", "old+new", true},
		{"new+old", "new", true},
		{"new", "new+old", true},
		// A server that does not trust the client's root refuses it.
		{"old", "new+old", false},
		{"new", "old+new", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("server %s, client %s", tt.server, tt.client), func(t *testing.T) {
			srv := startEcho(t, ServerConfig(providers[tt.server], NodeID("cluster.local", "n"), nil))
			_, err := dial(t, srv.addr(), ClientConfig(providers[tt.client], MeshletID("cluster.local", "a", "b"), nil))
			res := srv.result(t)
			if tt.ok && (err != nil || res.err != nil) {
				t.Fatalf("client: %v; server: %v", err, res.err)
			}
			if !tt.ok && (res.err == nil || !strings.Contains(res.err.Error(), "unknown authority")) {
				t.Fatalf("server error %v, want unknown authority", res.err)
			}
		})
	}
}
