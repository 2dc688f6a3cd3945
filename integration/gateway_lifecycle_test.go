package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// testCA is a certificate authority that signs server certificates for tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "caddymesh test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a PEM certificate for host, signed by the CA, and its PEM key.
func (ca *testCA) issue(t *testing.T, host string, serial int64) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// tlsSecret is a kubernetes.io/tls Secret manifest with base64 data, as kubectl writes it.
func tlsSecret(name string, certPEM, keyPEM []byte) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %s, namespace: default}
type: kubernetes.io/tls
data:
  tls.crt: %s
  tls.key: %s
`, name, base64.StdEncoding.EncodeToString(certPEM), base64.StdEncoding.EncodeToString(keyPEM))
}

// lifecycleManifests is Gateway gw with an HTTP listener and two HTTPS listeners of their
// own hostnames and certificates on one port, a route attached to all three, a route
// attached to a listener gw does not have, and the backend Service.
func lifecycleManifests(backendAddr string, secrets ...string) string {
	host, port, _ := net.SplitHostPort(backendAddr)
	return gatewayClassYAML + fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: caddymesh
  listeners:
    - {name: http, protocol: HTTP, port: 80}
    - name: https-a
      protocol: HTTPS
      port: 443
      hostname: a.example.com
      tls: {mode: Terminate, certificateRefs: [{name: a-cert}]}
    - name: https-b
      protocol: HTTPS
      port: 443
      hostname: b.example.com
      tls: {mode: Terminate, certificateRefs: [{name: b-cert}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: orphan, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: nope}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: %[2]s}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: %[2]s}]
endpoints: [{addresses: [%[1]s], conditions: {ready: true}}]
---
%[3]s`, host, port, strings.Join(secrets, "---\n"))
}

// secondGateway is Gateway gw2 with one HTTP listener on port, and a route to the backend.
func secondGateway(port int) string {
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw2, namespace: default}
spec:
  gatewayClassName: caddymesh
  listeners: [{name: http, protocol: HTTP, port: %d}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web2, namespace: default}
spec:
  parentRefs: [{name: gw2}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`, port)
}

// gatewayListeners returns GET /mesh/gateways as "ns/name:port" → bound address.
func gatewayListeners(t *testing.T, in *instance) map[string]string {
	t.Helper()
	code, body := in.get("/mesh/gateways")
	if code != 200 {
		t.Fatalf("GET /mesh/gateways: %d %s", code, body)
	}
	var out struct {
		Gateways []struct {
			Gateway, Address string
			Port             int
		}
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET /mesh/gateways: %v: %s", err, body)
	}
	m := make(map[string]string, len(out.Gateways))
	for _, g := range out.Gateways {
		m[fmt.Sprintf("%s:%d", g.Gateway, g.Port)] = g.Address
	}
	return m
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("counting descriptors: %v", err)
	}
	return len(entries)
}

// getVia sends GET path to addr (plain HTTP, or HTTPS with SNI host and the CA's pool) and
// returns the status, body and the server's leaf certificate.
func getVia(addr, host, path string, pool *x509.CertPool) (int, string, *x509.Certificate, error) {
	scheme := "http"
	tr := &http.Transport{DisableKeepAlives: true}
	if pool != nil {
		scheme = "https"
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest("GET", scheme+"://"+addr+path, nil)
	if err != nil {
		return 0, "", nil, err
	}
	req.Host = host
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	var leaf *x509.Certificate
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		leaf = resp.TLS.PeerCertificates[0]
	}
	return resp.StatusCode, string(body), leaf, err
}

// refused reports "" once a connection to addr is refused.
func refused(addr string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return addr + " still accepts connections"
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Sprintf("dialing %s: %v, want connection refused", addr, err)
	}
	return ""
}

// statusEntry is one status in GET /mesh/status.
type statusEntry struct {
	Kind    string                        `json:"kind"`
	Key     string                        `json:"key"`
	Parents []gatewayv1.RouteParentStatus `json:"parents"`
	Gateway *gatewayv1.GatewayStatus      `json:"gateway"`
}

// statusOf returns the file source's statuses of kind and key from GET /mesh/status.
func statusOf(t *testing.T, in *instance, kind, key string) []statusEntry {
	t.Helper()
	code, body := in.get("/mesh/status?kind=" + kind + "&key=" + key)
	if code != 200 {
		t.Fatalf("GET /mesh/status: %d %s", code, body)
	}
	var resp struct {
		Sources map[string][]statusEntry `json:"sources"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("GET /mesh/status: %v: %s", err, body)
	}
	return resp.Sources["file"]
}

// condition describes the condition of type typ as "Status/Reason", or "missing".
func condition(conds []metav1.Condition, typ string) string {
	for _, c := range conds {
		if c.Type == typ {
			return string(c.Status) + "/" + c.Reason
		}
	}
	return "missing"
}

// TestGatewayLifecycle runs the gateway agent in Caddy over manifest files and follows a
// Gateway's life: HTTPS listeners serve their Secrets' certificates by SNI, statuses show
// in GET /mesh/status, and a second Gateway added, moved to another port and deleted opens
// and closes its listener, with no reload and no descriptor left behind.
func TestGatewayLifecycle(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		// reverse_proxy's process-wide janitor of dynamic upstream hosts, started once.
		goleak.IgnoreAnyFunction("github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy.(*Upstream).fillDynamicHost.func1.1"))
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend %s %s", r.Host, r.URL.Path)
	}))
	defer backend.Close()
	ca := newTestCA(t)
	certA, keyA := ca.issue(t, "a.example.com", 10)
	certB, keyB := ca.issue(t, "b.example.com", 11)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "gw.yaml"), lifecycleManifests(backend.Listener.Addr().String(),
		tlsSecret("a-cert", certA, keyA), tlsSecret("b-cert", certB, keyB)))

	fdsBefore := openFDs(t)
	in := newInstance(t)
	apps := map[string]any{"mesh": map[string]any{
		"sources": map[string]any{"file": map[string]any{"source": "file", "paths": []string{dir}, "debounce": "50ms"}},
		"agents":  map[string]any{"gateway": map[string]any{"listen_host": "127.0.0.1", "ephemeral_ports": true}},
	}}
	in.load(apps)
	stopped := false
	defer func() {
		if !stopped {
			in.stop()
		}
	}()
	httpAddr := gatewayListener(t, in, "default/gw", 80)
	httpsAddr := gatewayListener(t, in, "default/gw", 443)
	if httpAddr == httpsAddr {
		t.Fatalf("ports 80 and 443 share the address %s", httpAddr)
	}

	t.Run("HTTP listener", func(t *testing.T) {
		code, body, _, err := getVia(httpAddr, "anything.example", "/x", nil)
		if err != nil || code != 200 || body != "backend anything.example /x" {
			t.Fatalf("got %d %q %v", code, body, err)
		}
	})

	t.Run("HTTPS listeners serve their certificates by SNI", func(t *testing.T) {
		tests := []struct {
			host   string
			serial int64
		}{
			{"a.example.com", 10},
			{"b.example.com", 11},
		}
		for _, tt := range tests {
			t.Run(tt.host, func(t *testing.T) {
				code, body, leaf, err := getVia(httpsAddr, tt.host, "/secure", ca.pool)
				if err != nil {
					t.Fatalf("HTTPS to %s: %v", tt.host, err)
				}
				if code != 200 || body != "backend "+tt.host+" /secure" {
					t.Errorf("got %d %q", code, body)
				}
				if leaf == nil || leaf.SerialNumber.Int64() != tt.serial || len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != tt.host {
					t.Errorf("the server presented %v, want the certificate of %s (serial %d)", leaf.DNSNames, tt.host, tt.serial)
				}
			})
		}
		// A name no listener has gets some certificate, which does not verify for it.
		if _, _, _, err := getVia(httpsAddr, "c.example.com", "/", ca.pool); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("HTTPS to a name without a certificate: %v, want a certificate error", err)
		}
	})

	t.Run("status", func(t *testing.T) {
		eventually(t, 10*time.Second, func() string {
			entries := statusOf(t, in, "gateways", "default/gw")
			if len(entries) != 1 || entries[0].Gateway == nil {
				return fmt.Sprintf("gateway status: %+v", entries)
			}
			gw := entries[0].Gateway
			var diffs []string
			for typ, want := range map[string]string{"Accepted": "True/Accepted", "Programmed": "True/Programmed"} {
				if got := condition(gw.Conditions, typ); got != want {
					diffs = append(diffs, fmt.Sprintf("gateway %s: %s, want %s", typ, got, want))
				}
			}
			want := map[string]int32{"http": 1, "https-a": 1, "https-b": 1}
			if len(gw.Listeners) != len(want) {
				diffs = append(diffs, fmt.Sprintf("%d listener statuses, want %d", len(gw.Listeners), len(want)))
			}
			for _, l := range gw.Listeners {
				if n, ok := want[string(l.Name)]; !ok || l.AttachedRoutes != n {
					diffs = append(diffs, fmt.Sprintf("listener %s: %d attached routes, want %d", l.Name, l.AttachedRoutes, n))
				}
				for _, typ := range []string{"Accepted", "Programmed", "ResolvedRefs"} {
					if got := condition(l.Conditions, typ); !strings.HasPrefix(got, "True/") {
						diffs = append(diffs, fmt.Sprintf("listener %s %s: %s", l.Name, typ, got))
					}
				}
			}
			if len(gw.Addresses) != 1 || gw.Addresses[0].Value != "127.0.0.1" {
				diffs = append(diffs, fmt.Sprintf("addresses %+v", gw.Addresses))
			}
			return strings.Join(diffs, "; ")
		})
		eventually(t, 10*time.Second, func() string {
			for route, want := range map[string]string{"default/web": "True/Accepted", "default/orphan": "False/NoMatchingParent"} {
				entries := statusOf(t, in, "httproutes", route)
				if len(entries) != 1 || len(entries[0].Parents) != 1 {
					return fmt.Sprintf("%s: status %+v", route, entries)
				}
				if got := condition(entries[0].Parents[0].Conditions, "Accepted"); got != want {
					return fmt.Sprintf("%s Accepted: %s, want %s", route, got, want)
				}
			}
			return ""
		})
	})

	// A second Gateway comes, moves to another port and goes, four times: a descriptor
	// left behind by each round adds up past the noise.
	fdsBase := openFDs(t)
	gw2 := filepath.Join(dir, "gw2.yaml")
	for round := range 4 {
		t.Run(fmt.Sprintf("a second gateway, round %d", round), func(t *testing.T) {
			writeFile(t, gw2, secondGateway(8080))
			first := gatewayListener(t, in, "default/gw2", 8080)
			// The file's Gateway and HTTPRoute land in two collections, so the listener may
			// open a moment before its route attaches.
			eventually(t, 5*time.Second, func() string {
				if code, body, _, err := getVia(first, "x.example", "/two", nil); err != nil || code != 200 || body != "backend x.example /two" {
					return fmt.Sprintf("gw2 on 8080: %d %q %v", code, body, err)
				}
				return ""
			})

			writeFile(t, gw2, secondGateway(9090))
			moved := gatewayListener(t, in, "default/gw2", 9090)
			eventually(t, 5*time.Second, func() string {
				if addr, ok := gatewayListeners(t, in)["default/gw2:8080"]; ok {
					return "the listener on 8080 is still listed at " + addr
				}
				return refused(first)
			})
			if code, _, _, err := getVia(moved, "x.example", "/two", nil); err != nil || code != 200 {
				t.Fatalf("gw2 on 9090: %d %v", code, err)
			}

			if err := os.Remove(gw2); err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, func() string {
				ls := gatewayListeners(t, in)
				for k, addr := range ls {
					if strings.HasPrefix(k, "default/gw2:") {
						return fmt.Sprintf("%s still listed at %s", k, addr)
					}
				}
				if len(ls) != 2 {
					return fmt.Sprintf("listeners %v, want gw's two", ls)
				}
				return refused(moved)
			})
			if code, _, _, err := getVia(httpAddr, "x.example", "/still", nil); err != nil || code != 200 {
				t.Fatalf("gw after gw2 went: %d %v", code, err)
			}
		})
	}
	// Closed listeners and their served connections give their descriptors back; one or
	// two may be in flux (the admin endpoint's connections).
	t.Logf("descriptors: %d before Caddy, %d with gw serving, %d after the rounds", fdsBefore, fdsBase, openFDs(t))
	eventually(t, 5*time.Second, func() string {
		if now := openFDs(t); now > fdsBase+2 {
			return fmt.Sprintf("%d descriptors after four rounds of a Gateway coming and going, %d before", now, fdsBase)
		}
		return ""
	})

	in.stop()
	stopped = true
	eventually(t, 5*time.Second, func() string {
		if now := openFDs(t); now > fdsBefore+2 {
			return fmt.Sprintf("%d descriptors after Caddy stopped, %d before it started", now, fdsBefore)
		}
		return ""
	})
	for _, addr := range []string{httpAddr, httpsAddr} {
		if msg := refused(addr); msg != "" {
			t.Errorf("after Caddy stopped: %s", msg)
		}
	}
}
