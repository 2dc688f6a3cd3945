//lint:file-ignore SA1019 the agent's tunnel is x/net/http2 (tunnel_client.go, tunnel_server.go); the tests speak it with the same parts.

package meshless

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/caddymesh/caddymesh/modules/identity"
	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// tunnelAddr is a node's tunnel address.
func (m *testMesh) tunnelAddr(node string) string {
	return net.JoinHostPort(hostIPs[node], strconv.Itoa(m.port))
}

// rawTunnelClient is an HTTP/2 client of the tunnel built from the same parts as the agent's
// (identity.ClientConfig, x/net/http2), presenting self's certificate: a peer that can send
// what it likes. The mesh closes its connections when the test ends, as it does the
// agents' (see stopAll).
func (m *testMesh) rawTunnelClient(id mesh.Identity, self identity.ID) *http2.Transport {
	tr := &http2.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			cfg := identity.ClientConfig(id, self, nil)
			cfg.NextProtos = []string{http2.NextProtoTLS}
			d := tls.Dialer{Config: cfg}
			return d.DialContext(ctx, network, addr)
		},
	}
	m.retired = append(m.retired, tr)
	return tr
}

// connect sends a CONNECT (or another method) for authority to a node's tunnel, and returns
// the response with the request body's writer.
func connect(tr *http2.Transport, addr, method, authority string) (*http.Response, *io.PipeWriter, error) {
	pr, pw := io.Pipe()
	req, err := http.NewRequest(method, "https://"+addr, pr)
	if err != nil {
		return nil, nil, err
	}
	req.Host = authority
	req.ContentLength = -1
	resp, err := tr.RoundTrip(req)
	if err != nil {
		pw.Close()
		return nil, nil, err
	}
	return resp, pw, nil
}

// TestTunnelRequests sends CONNECT streams to node-b's tunnel as a peer of the mesh: the
// destination agent re-checks everything the source agent should have checked.
func TestTunnelRequests(t *testing.T) {
	m := newStandardMesh(t)
	app := m.serve(t, nodeB, "rb", "echo", echo)
	b := m.node(nodeB)
	asCli := m.rawTunnelClient(m.ca, identity.MeshletID(testTD, testNS, "cli"))
	asNob := m.rawTunnelClient(m.ca, identity.MeshletID(testTD, testNS, "nob"))
	asGhost := m.rawTunnelClient(m.ca, identity.MeshletID(testTD, testNS, "ghost"))
	for _, tc := range []struct {
		name      string
		tr        *http2.Transport
		method    string
		authority string
		status    int
		code      protocol.Code
	}{
		{"allowed", asCli, http.MethodConnect, "rb.echo.rem.t", http.StatusOK, protocol.OK},
		{"one part", asCli, http.MethodConnect, "bad", http.StatusBadRequest, protocol.Malformed},
		{"three parts", asCli, http.MethodConnect, "echo.rem.t", http.StatusBadRequest, protocol.Malformed},
		{"bad label", asCli, http.MethodConnect, "rb.echo.Bad_M.t", http.StatusBadRequest, protocol.Malformed},
		{"empty pod", asCli, http.MethodConnect, ".echo.rem.t", http.StatusServiceUnavailable, protocol.NoEndpoint},
		{"not CONNECT", asCli, http.MethodPost, "rb.echo.rem.t", http.StatusBadRequest, protocol.Malformed},
		{"service not served", asCli, http.MethodConnect, "rb.nosuch.rem.t", http.StatusNotFound, protocol.ServiceNotFound},
		{"caller may not", asNob, http.MethodConnect, "rb.echo.rem.t", http.StatusForbidden, protocol.NotAllowed},
		{"caller meshlet missing", asGhost, http.MethodConnect, "rb.echo.rem.t", http.StatusForbidden, protocol.NotAllowed},
		// A peer allowed to reach rem cannot reach another Pod's sockets by naming it.
		{"pod of another meshlet", asCli, http.MethodConnect, "cb.echo.rem.t", http.StatusServiceUnavailable, protocol.NoEndpoint},
		{"pod unknown", asCli, http.MethodConnect, "zz.echo.rem.t", http.StatusServiceUnavailable, protocol.NoEndpoint},
		{"pod on another node", asCli, http.MethodConnect, "la.echo.loc.t", http.StatusServiceUnavailable, protocol.NoEndpoint},
		{"server socket missing", asCli, http.MethodConnect, "rb.gone.rem.t", http.StatusBadGateway, protocol.DestinationRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			accepted := app.accepted.Load()
			resp, pw, err := connect(tc.tr, m.tunnelAddr(nodeB), tc.method, tc.authority)
			if err != nil {
				t.Fatal(err)
			}
			defer pw.Close()
			defer resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get(codeHeader) != strconv.Itoa(int(tc.code)) {
				t.Fatalf("status %d, %s %q; want %d, code %d", resp.StatusCode, codeHeader, resp.Header.Get(codeHeader), tc.status, tc.code)
			}
			if tc.code != protocol.OK {
				if n := app.accepted.Load() - accepted; n != 0 {
					t.Errorf("a refused stream reached the server (%d connections)", n)
				}
				l := b.waitAccess(t, "the refusal", func(l accessLine) bool {
					return l.str("direction") == "inbound" && l.code() == tc.code
				})
				if l["error"] == nil {
					t.Errorf("refusal logged without its reason: %v", l)
				}
				b.access.TakeAll()
				return
			}
			go func() {
				_, _ = io.WriteString(pw, "through the tunnel")
				pw.Close()
			}()
			got, err := io.ReadAll(resp.Body)
			if err != nil || string(got) != "through the tunnel" {
				t.Fatalf("echo %q, %v", got, err)
			}
			l := b.waitAccess(t, "the stream", func(l accessLine) bool { return l.str("direction") == "inbound" })
			if l.str("source") != "t/cli" || l.code() != protocol.OK || l.int64("bytes_up") != 18 || l.int64("bytes_down") != 18 {
				t.Errorf("access log %v", l)
			}
			b.access.TakeAll()
		})
	}
}

// TestTunnelRejectsBadPeers checks the TLS side of the tunnel port: garbage, silence, a
// node's identity where a meshlet's is required, and certificates of another CA. Nothing
// reaches a server and the agent keeps serving.
func TestTunnelRejectsBadPeers(t *testing.T) {
	m := newStandardMesh(t)
	app := m.serve(t, nodeB, "rb", "echo", echo)
	b := m.node(nodeB)
	timeout := b.n.Config().HandshakeTimeout

	t.Run("garbage", func(t *testing.T) {
		c, err := net.Dial("tcp", m.tunnelAddr(nodeB))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"+strings.Repeat("\x00\xff", 100)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(shortWait))
		_, err = io.ReadAll(c) // an alert at most, then the close
		if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			t.Fatalf("reading: %v", err)
		}
		if d := time.Since(start); d > timeout {
			t.Errorf("closed after %v", d)
		}
	})
	t.Run("silence", func(t *testing.T) {
		c, err := net.Dial("tcp", m.tunnelAddr(nodeB))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(shortWait))
		if n, err := c.Read(make([]byte, 1)); err != io.EOF && !isReset(err) {
			t.Fatalf("read %d, %v; want the close", n, err)
		}
		if d := time.Since(start); d < timeout-50*time.Millisecond || d > timeout+400*time.Millisecond {
			t.Errorf("closed after %v, want about the handshake timeout %v", d, timeout)
		}
	})
	t.Run("node identity", func(t *testing.T) {
		tr := m.rawTunnelClient(m.ca, identity.NodeID(testTD, nodeA))
		resp, pw, err := connect(tr, m.tunnelAddr(nodeB), http.MethodConnect, "rb.echo.rem.t")
		if err == nil {
			pw.Close()
			resp.Body.Close()
			t.Fatalf("a node identity got a response: %s", resp.Status)
		}
		waitFor(t, "the refusal in node-b's log", func() bool {
			return b.logs.FilterMessage("tunnel connection").FilterFieldKey("error").Len() > 0 &&
				strings.Contains(logErrors(b), "is not a meshlet identity")
		})
	})
	t.Run("no client certificate", func(t *testing.T) {
		cfg := identity.ClientConfig(m.ca, identity.MeshletID(testTD, testNS, "cli"), nil)
		cfg.GetClientCertificate = nil
		cfg.NextProtos = []string{http2.NextProtoTLS}
		c, err := tls.Dial("tcp", m.tunnelAddr(nodeB), cfg)
		if err == nil {
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(shortWait))
			_, err = c.Read(make([]byte, 1))
		}
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("a client without a certificate: %v", err)
		}
	})
	for _, other := range []struct {
		name string
		ca   *testCA
	}{
		{"other trust domain", newTestCA(t, "other.test")},
		{"same trust domain, other root", newTestCA(t, testTD)},
	} {
		t.Run(other.name, func(t *testing.T) {
			tr := m.rawTunnelClient(other.ca, identity.MeshletID(other.ca.TrustDomain(), testNS, "cli"))
			resp, pw, err := connect(tr, m.tunnelAddr(nodeB), http.MethodConnect, "rb.echo.rem.t")
			if err == nil {
				pw.Close()
				resp.Body.Close()
				t.Fatalf("a peer of another CA got a response: %s", resp.Status)
			}
		})
	}
	if n := app.accepted.Load(); n != 0 {
		t.Errorf("bad peers reached the server %d times", n)
	}
	for _, l := range b.accessLines() {
		t.Errorf("a bad peer got as far as a stream: %v", l)
	}
	// The agent still serves.
	c := m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.OK)
	if got, err := roundTrip(c, "fine"); err != nil || got != "fine" {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

// TestPeerOfAnotherCA gives node-a a CA of another trust domain, or another root of the same
// one: its tunnel to node-b fails the TLS handshake, the call gets 9, and nothing reaches
// the server. Same-node calls on node-a do not need the tunnel and still work.
func TestPeerOfAnotherCA(t *testing.T) {
	for _, tc := range []struct {
		name string
		ca   func(t *testing.T) *testCA
	}{
		{"other trust domain", func(t *testing.T) *testCA { return newTestCA(t, "other.test") }},
		{"same trust domain, other root", func(t *testing.T) *testCA { return newTestCA(t, testTD) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := tc.ca(t)
			m := newStandardMesh(t, func(node string, cfg *Config) {
				if node == nodeA {
					cfg.Identity = other
				}
			})
			remote := m.serve(t, nodeB, "rb", "echo", echo)
			m.serve(t, nodeA, "la", "echo", echo)
			m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.DestinationUnreachable)
			m.mustCall(t, nodeB, "cb", "echo.loc.t", protocol.DestinationUnreachable)
			if n := remote.accepted.Load(); n != 0 {
				t.Errorf("the server accepted %d connections through a rejected tunnel", n)
			}
			for _, l := range m.node(nodeB).accessLines() {
				if l.str("direction") == "inbound" {
					t.Errorf("node-b served a stream of a rejected peer: %v", l)
				}
			}
			l := m.node(nodeA).waitAccess(t, "the refusal", func(l accessLine) bool { return l.str("destination") == "echo.rem.t" })
			if e, _ := l["error"].(string); !strings.Contains(e, "tunnel") {
				t.Errorf("refusal without the tunnel's error: %v", l)
			}
			c := m.mustCall(t, nodeA, "ca", "echo.loc.t", protocol.OK)
			if got, err := roundTrip(c, "local"); err != nil || got != "local" {
				t.Fatalf("same-node echo: %q, %v", got, err)
			}
		})
	}
}

// TestNoIdentity checks a node without an identity: same-node calls work, cross-node calls
// get 9 without trying, and its tunnel port refuses everything.
func TestNoIdentity(t *testing.T) {
	m := newStandardMesh(t, func(node string, cfg *Config) {
		if node == nodeA {
			cfg.Identity = nil
		}
	})
	m.serve(t, nodeA, "la", "echo", echo)
	m.serve(t, nodeB, "rb", "echo", echo)
	m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.DestinationUnreachable)
	m.mustCall(t, nodeB, "cb", "echo.loc.t", protocol.DestinationUnreachable)
	c := m.mustCall(t, nodeA, "ca", "echo.loc.t", protocol.OK)
	if got, err := roundTrip(c, "local"); err != nil || got != "local" {
		t.Fatalf("same-node echo: %q, %v", got, err)
	}
	if n := m.node(nodeB).ln.accepted.Load(); n != 0 {
		t.Errorf("node-a without an identity opened %d tunnel connections", n)
	}
}

// TestDestinationAgentRestart restarts node-b's agent as a new process would start: node-a's
// pooled connection to the old one is dead, and calls must get through on a new one.
func TestDestinationAgentRestart(t *testing.T) {
	m := newStandardMesh(t)
	m.serve(t, nodeB, "rb", "echo", echo)
	for i := range 3 {
		c := m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.OK)
		if got, err := roundTrip(c, "before"); err != nil || got != "before" {
			t.Fatalf("call %d before the restart: %q, %v", i, got, err)
		}
		c.Close()
	}
	if n := m.node(nodeB).ln.accepted.Load(); n != 1 {
		t.Fatalf("node-b accepted %d tunnel connections for 3 calls, want 1 (pooled)", n)
	}
	m.node(nodeB).kill()
	// While node-b is down, its Pods cannot be reached.
	m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.DestinationUnreachable)

	ln, err := net.Listen("tcp", m.tunnelAddr(nodeB))
	if err != nil {
		t.Fatal(err)
	}
	nb := m.startNode(nodeB, ln)
	for i := range 3 {
		c := m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.OK)
		if got, err := roundTrip(c, "after"); err != nil || got != "after" {
			t.Fatalf("call %d after the restart: %q, %v", i, got, err)
		}
		c.Close()
	}
	if n := nb.ln.accepted.Load(); n != 1 {
		t.Errorf("the new node-b accepted %d tunnel connections, want 1", n)
	}
	nb.waitAccess(t, "an inbound call", func(l accessLine) bool { return l.str("direction") == "inbound" && l.code() == protocol.OK })
}

// TestRestartCutsOpenCalls restarts node-b's agent while a call through it is up: the call
// ends, and the next one gets through on a new tunnel connection.
func TestRestartCutsOpenCalls(t *testing.T) {
	m := newStandardMesh(t)
	m.serve(t, nodeB, "rb", "echo", echo)
	c := m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.OK)
	c.Close()
	// A restart while a call is up: the call breaks, the next one reconnects.
	c = m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.OK)
	m.restart(nodeB)
	_ = c.SetReadDeadline(time.Now().Add(shortWait))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("the call cut by the restart: %v, want EOF", err)
	}
	c.Close()
	c = m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.OK)
	if got, err := roundTrip(c, "again"); err != nil || got != "again" {
		t.Fatalf("echo after the restart: %q, %v", got, err)
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// logErrors joins the error fields of a node's log.
func logErrors(tn *testNode) string {
	var b strings.Builder
	for _, e := range tn.logs.All() {
		if v, ok := e.ContextMap()["error"].(string); ok {
			b.WriteString(v + "\n")
		}
	}
	return b.String()
}

// TestDestinationAgentReload replaces node-b's Node as a config reload does (agent.go: a new
// Node sharing Conns and Tunnels is activated, then the old one's listener is closed and
// the old Node too), while the old Node's tunnel connections stay open: node-a's pooled
// connection still leads to it, and its calls must be served, by the new Node, rather than
// answered 11. A connection set up before the reload goes on.
func TestDestinationAgentReload(t *testing.T) {
	m := newStandardMesh(t)
	m.serve(t, nodeB, "rb", "echo", echo)
	m.serve(t, nodeB, "rb", "lim", echo)
	before := m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.OK)
	held := m.mustCall(t, nodeA, "ca", "lim.rem.t", protocol.OK)

	old := m.node(nodeB)
	m.opts = append(m.opts, func(node string, cfg *Config) {
		if node == nodeB {
			cfg.Conns, cfg.Tunnels = old.n.cfg.Conns, old.n.cfg.Tunnels
		}
	})
	// The new config starts before the old one stops. In-process, the listener cannot be
	// handed over as Caddy's listener pool does, so the new Node gets the old one's accepted
	// connections through Activate only, and a listener of its own just after.
	old.sockets.Stop()
	old.ln.Close()
	<-old.served
	ln, err := net.Listen("tcp", m.tunnelAddr(nodeB))
	if err != nil {
		t.Fatal(err)
	}
	nb := m.startNode(nodeB, ln)
	old.n.Close()
	t.Cleanup(func() {
		// The old Node's connections end when node-a's pool closes them.
		old.stopped = true
		m.nodes["old"] = old
	})
	for i := range 3 {
		c, code, err := m.call(nodeA, "ca", "echo.rem.t")
		if err != nil {
			t.Fatal(err)
		}
		if code != protocol.OK {
			t.Fatalf("call %d after node-b's reload: code %d (%s), want 0", i, code, code)
		}
		if got, err := roundTrip(c, "reloaded"); err != nil || got != "reloaded" {
			t.Fatalf("call %d after node-b's reload: %q, %v", i, got, err)
		}
		c.Close()
	}
	if n := nb.ln.accepted.Load(); n != 0 {
		t.Errorf("node-a opened %d new tunnel connections: the pooled one should serve", n)
	}
	nb.waitAccess(t, "the new Node serving the old connection's streams", func(l accessLine) bool {
		return l.str("direction") == "inbound" && l.code() == protocol.OK
	})
	// maxConn (2) holds across the reload: the connection held through the old Node still
	// counts, so with one more node-b refuses node-a's call (node-a has counted only one).
	m.mustCall(t, nodeB, "cb", "lim.rem.t", protocol.OK)
	m.mustCall(t, nodeA, "ca", "lim.rem.t", protocol.ConnectionLimit)
	if got, err := roundTrip(before, "still up"); err != nil || got != "still up" {
		t.Fatalf("a connection set up before the reload: %q, %v", got, err)
	}
	held.Close()
}

// TestTunnelPoolCloseWithOpenStream closes node-a's pool while a call is up: the call goes
// on, and once it ends its TLS connection must close too, as TunnelPool.Close promises.
func TestTunnelPoolCloseWithOpenStream(t *testing.T) {
	m := newStandardMesh(t)
	m.serve(t, nodeB, "rb", "echo", echo)
	c := m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.OK)
	m.closeTunnels(nodeA)
	if got, err := roundTrip(c, "still up"); err != nil || got != "still up" {
		t.Fatalf("the open call after Close: %q, %v", got, err)
	}
	c.Close()
	waitFor(t, "node-b's tunnel connection to close", func() bool { return m.node(nodeB).ln.open() == 0 })
}
