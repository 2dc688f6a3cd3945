package meshless

import (
	"crypto/rand"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// TestCallCodes checks the decision and the path of each kind of call: the reply code, that
// only allowed calls reach a server, and the access-log line of each.
func TestCallCodes(t *testing.T) {
	m := newStandardMesh(t)
	apps := map[string]*serverApp{
		"echo.loc": m.serve(t, nodeA, "la", "echo", echo),
		"echo.rem": m.serve(t, nodeB, "rb", "echo", echo),
	}
	for _, tc := range []struct {
		name      string
		node, pod string
		service   string
		want      protocol.Code
		app       string // the server that must see the call, if allowed
		path      string // the path in the access log, when an endpoint was chosen
	}{
		{"allowed, same node", nodeA, "ca", "echo.loc.t", protocol.OK, "echo.loc", "local"},
		{"allowed, cross node", nodeA, "ca", "echo.rem.t", protocol.OK, "echo.rem", "tunnel"},
		{"allowed, cross node from node-b", nodeB, "cb", "echo.loc.t", protocol.OK, "echo.loc", "tunnel"},
		{"allowed, same node on node-b", nodeB, "cb", "echo.rem.t", protocol.OK, "echo.rem", "local"},
		{"not listed, same node", nodeA, "na", "echo.loc.t", protocol.NotAllowed, "", ""},
		{"not listed, cross node", nodeA, "na", "echo.rem.t", protocol.NotAllowed, "", ""},
		{"meshlet missing", nodeA, "ca", "echo.nowhere.t", protocol.ServiceNotFound, "", ""},
		{"service not served", nodeA, "ca", "nosuch.loc.t", protocol.ServiceNotFound, "", ""},
		{"service not served and not listed", nodeA, "na", "nosuch.rem.t", protocol.ServiceNotFound, "", ""},
		{"other namespace", nodeA, "ca", "echo.loc.other", protocol.ServiceNotFound, "", ""},
		{"server socket missing, same node", nodeA, "ca", "gone.loc.t", protocol.DestinationRefused, "", "local"},
		{"server socket missing, cross node", nodeA, "ca", "gone.rem.t", protocol.DestinationRefused, "", "tunnel"},
		{"server socket missing, from node-b", nodeB, "cb", "gone.loc.t", protocol.DestinationRefused, "", "tunnel"},
		{"destination agent down", nodeA, "ca", "echo.far.t", protocol.DestinationUnreachable, "", "tunnel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]int64{}
			for k, a := range apps {
				before[k] = a.accepted.Load()
			}
			c := m.mustCall(t, tc.node, tc.pod, tc.service, tc.want)
			if c != nil {
				if got, err := roundTrip(c, "ping"); err != nil || got != "ping" {
					t.Fatalf("echo: %q, %v", got, err)
				}
				c.Close()
			}
			for k, a := range apps {
				want := before[k]
				if k == tc.app {
					want++
				}
				if got := a.accepted.Load(); got != want {
					t.Errorf("server %s accepted %d connections, want %d", k, got, want)
				}
			}
			l := m.node(tc.node).waitAccess(t, tc.service, func(l accessLine) bool {
				return l.str("destination") == tc.service && l.str("source_pod") == testNS+"/"+tc.pod
			})
			if l.code() != tc.want || l.str("direction") != "outbound" || l.str("path") != tc.path {
				t.Errorf("access log %v: want code %d, direction outbound, path %q", l, tc.want, tc.path)
			}
			if (tc.want == protocol.OK) != (l["error"] == nil) {
				t.Errorf("access log %v: error field does not match code %d", l, tc.want)
			}
			m.node(tc.node).access.TakeAll()
		})
	}
}

// TestCallersWithoutMeshlet checks that only a Pod of an existing meshlet can call: the
// agent learns the caller from the socket's path, so these use sockets that the agent
// would not open itself.
func TestCallersWithoutMeshlet(t *testing.T) {
	m := newStandardMesh(t)
	app := m.serve(t, nodeA, "la", "echo", echo)
	a := m.node(nodeA)
	for _, tc := range []struct {
		name string
		path string
		fake bool // a socket the agent does not open itself
		want protocol.Code
	}{
		{"pod without the label", m.clientSocket(nodeA, "plain"), true, protocol.NotAllowed},
		{"unknown pod", m.clientSocket(nodeA, "ghost"), true, protocol.NotAllowed},
		{"meshlet does not exist", m.clientSocket(nodeA, "orphan"), false, protocol.NotAllowed},
		{"socket outside the root", filepath.Join(m.dir, "x", "s"), true, protocol.GeneralFailure},
		{"socket of the wrong shape", filepath.Join(m.root(nodeA), testNS, "ca", "server", "x"), true, protocol.GeneralFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fake {
				a.fakeClientSocket(t, tc.path)
			}
			c, err := net.Dial("unix", tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// A socket that is no Pod's is answered at once, before the request, which may
			// then meet a closed socket.
			err = protocol.WriteRequest(c, protocol.ServiceID{Service: "echo", Meshlet: "loc", Namespace: testNS})
			if err != nil && tc.want != protocol.GeneralFailure {
				t.Fatal(err)
			}
			code, err := rawReply(c)
			if err != nil || code != tc.want {
				t.Fatalf("reply %d, %v; want %d", code, err, tc.want)
			}
			// The agent closes after a refusal. Refusing a socket it does not serve, it
			// answers before reading the request, so the close may come as a reset.
			if n, err := c.Read(make([]byte, 1)); err != io.EOF && !(tc.want == protocol.GeneralFailure && errors.Is(err, syscall.ECONNRESET)) {
				t.Errorf("after the refusal: read %d, %v; want EOF", n, err)
			}
		})
	}
	if n := app.accepted.Load(); n != 0 {
		t.Errorf("the server accepted %d connections of callers without a meshlet", n)
	}
	if _, err := a.n.policy.Caller(testNS, "ca"); err != nil {
		t.Errorf("the labelled Pod is no caller: %v", err)
	}
}

// sinkReply reads until EOF, then answers twice as many bytes plus 7: the two directions
// carry different counts, and the reply only starts after the client's half-close.
func sinkReply(c *net.UnixConn) {
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		return
	}
	_, _ = io.WriteString(c, strings.Repeat("z", int(2*n+7)))
}

// TestRoundTripAndAccessLog sends a megabyte each way through each path, half-closing in
// between, and checks the access-log lines of both agents.
func TestRoundTripAndAccessLog(t *testing.T) {
	m := newStandardMesh(t)
	m.serve(t, nodeA, "la", "echo", sinkReply)
	m.serve(t, nodeB, "rb", "echo", sinkReply)
	payload := make([]byte, 1<<20+123)
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		service  string
		path     string
		endpoint string
	}{
		{"same node", "echo.loc.t", "local", "t/la"},
		{"cross node", "echo.rem.t", "tunnel", "t/rb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tunnelsBefore := m.node(nodeB).ln.accepted.Load()
			start := time.Now()
			c := m.mustCall(t, nodeA, "ca", tc.service, protocol.OK)
			got, err := roundTrip(c, string(payload))
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			elapsed := time.Since(start)
			wantDown := int64(2*len(payload) + 7)
			if int64(len(got)) != wantDown || strings.Trim(got, "z") != "" {
				t.Fatalf("reply of %d bytes, want %d z's", len(got), wantDown)
			}
			l := m.node(nodeA).waitAccess(t, "the call", func(l accessLine) bool { return l.str("destination") == tc.service })
			for k, want := range map[string]any{
				"direction": "outbound", "source": "t/cli", "source_pod": "t/ca", "endpoint": tc.endpoint,
				"path": tc.path, "code": uint8(0), "code_text": "ok",
				"bytes_up": int64(len(payload)), "bytes_down": wantDown,
			} {
				if l[k] != want {
					t.Errorf("access log %s = %v (%T), want %v", k, l[k], l[k], want)
				}
			}
			if d, ok := l["duration"].(time.Duration); !ok || d <= 0 || d > elapsed {
				t.Errorf("access log duration %v, want in (0, %v]", l["duration"], elapsed)
			}
			if tc.path != "tunnel" {
				if m.node(nodeB).ln.accepted.Load() != tunnelsBefore {
					t.Error("a same-node call opened a tunnel connection")
				}
				return
			}
			in := m.node(nodeB).waitAccess(t, "the inbound call", func(l accessLine) bool {
				return l.str("direction") == "inbound" && l.str("destination") == tc.service
			})
			for k, want := range map[string]any{
				"source": "t/cli", "endpoint": tc.endpoint, "path": "local", "code": uint8(0),
				"bytes_up": int64(len(payload)), "bytes_down": wantDown,
			} {
				if in[k] != want {
					t.Errorf("inbound access log %s = %v, want %v", k, in[k], want)
				}
			}
			if _, ok := in["source_pod"]; ok {
				t.Errorf("inbound access log names a source Pod: %v", in)
			}
		})
	}
}

// TestHalfCloseKeepsTheReply checks both directions' half-close through each path: the
// server sees EOF only when the client half-closes, and the client then still gets the
// whole reply and EOF.
func TestHalfCloseKeepsTheReply(t *testing.T) {
	m := newStandardMesh(t)
	sawEOF := make(chan string, 2)
	handler := func(c *net.UnixConn) {
		b, err := io.ReadAll(c)
		if err != nil {
			return
		}
		sawEOF <- string(b)
		time.Sleep(50 * time.Millisecond) // the reply comes well after the half-close
		_, _ = io.WriteString(c, "reply to "+string(b))
	}
	m.serve(t, nodeA, "la", "echo", handler)
	m.serve(t, nodeB, "rb", "echo", handler)
	for _, service := range []string{"echo.loc.t", "echo.rem.t"} {
		t.Run(service, func(t *testing.T) {
			c := m.mustCall(t, nodeA, "ca", service, protocol.OK)
			if _, err := io.WriteString(c, "question"); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-sawEOF:
				t.Fatalf("the server saw EOF before the half-close, after %q", got)
			case <-time.After(100 * time.Millisecond):
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-sawEOF:
				if got != "question" {
					t.Fatalf("the server read %q", got)
				}
			case <-time.After(shortWait):
				t.Fatal("the server did not see the half-close")
			}
			_ = c.SetReadDeadline(time.Now().Add(shortWait))
			b, err := io.ReadAll(c)
			if err != nil || string(b) != "reply to question" {
				t.Fatalf("reply %q, %v", b, err)
			}
		})
	}
}
