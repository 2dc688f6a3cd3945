package identity

import (
	"context"
	"crypto/tls"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

// runCaddy loads a config with the given apps into the process's Caddy, with storage in
// dir, the admin endpoint off, nothing persisted and only errors logged.
func runCaddy(t *testing.T, dir string, apps map[string]any) error {
	t.Helper()
	cfg := mustJSON(t, map[string]any{
		"admin":   map[string]any{"disabled": true, "config": map[string]any{"persist": false}},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "ERROR"}}},
		"storage": map[string]any{"module": "file_system", "root": dir},
		"apps":    apps,
	})
	return caddy.Load(cfg, true)
}

func stopCaddy(t *testing.T) {
	if err := caddy.Stop(); err != nil {
		t.Errorf("stopping caddy: %v", err)
	}
}

// runningIdentity returns the running config's mesh identity.
func runningIdentity(t *testing.T) mesh.Identity {
	t.Helper()
	app, err := caddy.ActiveContext().App("mesh")
	if err != nil {
		t.Fatal(err)
	}
	p := app.(*mesh.App).Identity()
	if p == nil {
		t.Fatal("the mesh app has no identity")
	}
	return p
}

func meshApp(identity map[string]any) map[string]any {
	return map[string]any{"identity": identity}
}

// TestReloadKeepsCertificates reloads Caddy: an unchanged identity config keeps its
// certificates, a changed lifetime gets new ones.
func TestReloadKeepsCertificates(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { stopCaddy(t) })
	apps := func(lifetime string) map[string]any {
		return map[string]any{
			"pki":  pkiApp("mesh"),
			"mesh": meshApp(map[string]any{"ca": "internal", "lifetime": lifetime}),
		}
	}
	id := MeshletID("cluster.local", "shop", "cart").String()
	certificate := func() *tls.Certificate {
		t.Helper()
		c, err := runningIdentity(t).Certificate(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	if err := runCaddy(t, dir, apps("1h")); err != nil {
		t.Fatal(err)
	}
	first := certificate()
	steps := []struct {
		name     string
		lifetime string
		wantSame bool
	}{
		{"same config", "1h", true},
		{"same config again", "1h", true},
		{"another lifetime", "2h", false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := runCaddy(t, dir, apps(st.lifetime)); err != nil {
				t.Fatal(err)
			}
			cur := certificate()
			if same := cur == first; same != st.wantSame {
				t.Errorf("same certificate (serial %s vs %s) = %v, want %v", cur.Leaf.SerialNumber, first.Leaf.SerialNumber, same, st.wantSame)
			}
		})
	}

	// The metrics see the one cache left: the 2h config's, with one certificate.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metricsCollector{})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			got[f.GetName()] += v
		}
	}
	want := map[string]float64{
		"caddy_mesh_identity_certificates":       1,
		"caddy_mesh_identity_issued_total":       1,
		"caddy_mesh_identity_issue_errors_total": 0,
	}
	if !maps.Equal(got, want) {
		t.Errorf("metrics %v, want %v", got, want)
	}
}

// TestHTTPSWithMeshModules runs a Caddy HTTPS server whose certificate comes from
// tls.get_certificate.mesh and whose client authentication trusts tls.ca_pool.source.mesh:
// a client with a mesh certificate gets a response, one without is refused.
func TestHTTPSWithMeshModules(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	apps := map[string]any{
		"pki":  pkiApp("mesh"),
		"mesh": meshApp(map[string]any{"ca": "internal"}),
		"tls": map[string]any{
			"automation": map[string]any{"policies": []any{map[string]any{
				"get_certificate": []any{map[string]any{"via": "mesh", "node": "node-1"}},
				"issuers":         []any{map[string]any{"module": "internal", "ca": "mesh"}},
			}}},
			// The cleaning's lock file goroutine outlives the test by up to 5s (goleak).
			"disable_storage_clean": true,
		},
		"http": map[string]any{"servers": map[string]any{"mesh": map[string]any{
			"listen":          []string{addr},
			"protocols":       []string{"h1", "h2"},
			"automatic_https": map[string]any{"disable": true},
			// Clients dial the IP address, so they send no SNI to match the Host header.
			"strict_sni_host": false,
			"tls_connection_policies": []any{map[string]any{
				"client_authentication": map[string]any{"ca": map[string]any{"provider": "mesh"}, "mode": "require_and_verify"},
			}},
			"routes": []any{map[string]any{"handle": []any{map[string]any{
				"handler": "static_response",
				"body":    "hello {http.request.tls.client.san.uris.0}",
			}}}},
		}}},
	}
	t.Cleanup(func() { stopCaddy(t) })
	if err := runCaddy(t, dir, apps); err != nil {
		t.Fatal(err)
	}
	p := runningIdentity(t)
	clientID := MeshletID("cluster.local", "shop", "cart")

	tests := []struct {
		name     string
		cfg      *tls.Config
		wantBody string
		wantErr  string
	}{
		{"mesh client", ClientConfig(p, clientID, nil), "hello " + clientID.String(), ""},
		{"mesh client that checks the server", ClientConfig(p, clientID, func(peer ID) error {
			if node, ok := peer.Node(); !ok || node != "node-1" {
				t.Errorf("server presented %v, want node node-1", peer)
			}
			return nil
		}), "hello " + clientID.String(), ""},
		{"client without a certificate", &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}, "", "certificate required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: tt.cfg}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			resp, err := client.Get("https://" + addr + "/")
			if tt.wantErr != "" {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got %s, want an error containing %q", resp.Status, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(body) != tt.wantBody {
				t.Errorf("got %s %q, want 200 %q", resp.Status, body, tt.wantBody)
			}
			if peer, err := PeerID(*resp.TLS); err != nil || peer != NodeID("cluster.local", "node-1") {
				t.Errorf("server presented %v, %v", peer, err)
			}
		})
	}
}

// TestTLSModulesNeedIdentity checks the modules' configuration errors in a real load.
func TestTLSModulesNeedIdentity(t *testing.T) {
	tests := []struct {
		name    string
		mesh    map[string]any
		getCert map[string]any
		wantErr string
	}{
		{"no identity", map[string]any{}, map[string]any{"via": "mesh", "node": "n"}, "the mesh app has no identity configured"},
		{"another trust domain", meshApp(map[string]any{"ca": "internal"}),
			map[string]any{"via": "mesh", "id": "spiffe://other.test/node/n"}, `not in the mesh identity's trust domain "cluster.local"`},
		{"no name", meshApp(map[string]any{"ca": "internal"}), map[string]any{"via": "mesh"}, "set exactly one of"},
		{"two names", meshApp(map[string]any{"ca": "internal"}),
			map[string]any{"via": "mesh", "node": "n", "namespace": "a", "meshlet": "b"}, "set exactly one of"},
		{"bad node name", meshApp(map[string]any{"ca": "internal"}), map[string]any{"via": "mesh", "node": "a/../b"}, `segment ".."`},
		{"bad trust domain", meshApp(map[string]any{"ca": "internal", "trust_domain": "Cluster.Local"}),
			map[string]any{"via": "mesh", "node": "n"}, "trust_domain: trust domain \"Cluster.Local\""},
		{"lifetime too short", meshApp(map[string]any{"ca": "internal", "lifetime": "10ms"}),
			map[string]any{"via": "mesh", "node": "n"}, "lifetime 10ms is shorter than 1s"},
		{"missing roots file", meshApp(map[string]any{"ca": "internal", "trusted_roots_pem_files": []string{"/nonexistent.pem"}}),
			map[string]any{"via": "mesh", "node": "n"}, "trusted roots: open /nonexistent.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runCaddy(t, t.TempDir(), map[string]any{
				"pki":  pkiApp("mesh"),
				"mesh": tt.mesh,
				"tls": map[string]any{"automation": map[string]any{"policies": []any{map[string]any{
					"get_certificate": []any{tt.getCert},
					"issuers":         []any{map[string]any{"module": "internal", "ca": "mesh"}},
				}}}},
			})
			if err == nil {
				stopCaddy(t)
				t.Fatalf("loaded; want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestMissingAuthorityIsAdded checks that an authority the pki app does not define is
// added to it, so that the pki app keeps it.
func TestMissingAuthorityIsAdded(t *testing.T) {
	e := newEnv(t, "other")
	p := e.provider(t, map[string]any{"authority": "meshroot"})
	ca, err := pkiAuthority(e.ctx, "meshroot")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Roots()[0].Equal(ca.RootCertificate()) {
		t.Error("the provider's root is not the added authority's")
	}
	if ca.InstallTrust == nil || *ca.InstallTrust {
		t.Error("the added authority would be installed in the system trust store")
	}
	e.rootPEM(t, "meshroot") // stored
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
