package meshless

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// TestBadHandshakes sends each kind of bad request on a real client socket: each gets its
// code, or a close, within the handshake timeout, and nothing reaches the server. The
// nodes' handshake timeout is 500ms.
func TestBadHandshakes(t *testing.T) {
	m := newStandardMesh(t)
	app := m.serve(t, nodeA, "la", "echo", echo)
	timeout := m.node(nodeA).n.Config().HandshakeTimeout
	const slack = 400 * time.Millisecond
	for _, tc := range []struct {
		name  string
		send  func(c *net.UnixConn) error
		want  protocol.Code // 0xff: closed without a reply
		early bool          // answered at once, not at the timeout
	}{
		{"version only, then half-close", sendThenHalfClose([]byte{1}), protocol.Malformed, true},
		{"length 0", send([]byte{1, 0}), protocol.Malformed, true},
		{"length past the data", sendThenHalfClose(append([]byte{1, 50}, "abcde"...)), protocol.Malformed, true},
		{"ID of two parts", send(append([]byte{1, 8}, "echo.loc"...)), protocol.Malformed, true},
		{"ID not DNS", send(append([]byte{1, 10}, "Bad_ID.x.y"...)), protocol.Malformed, true},
		{"ID with a trailing dot", send(append([]byte{1, 11}, "echo.loc.t."...)), protocol.Malformed, true},
		{"wrong version", send(append([]byte{2, 10}, "echo.loc.t"...)), protocol.UnsupportedVersion, true},
		{"version 0", send([]byte{0, 10}), protocol.UnsupportedVersion, true},
		{"nothing sent", send(nil), protocol.Timeout, false},
		{"header only", send([]byte{1, 10}), protocol.Timeout, false},
		{"slow sender", trickle(append([]byte{1, 10}, "echo.loc.t"...), time.Second), protocol.Timeout, false},
		{"close before a byte", func(c *net.UnixConn) error { return c.CloseWrite() }, 0xff, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := m.dialRaw(nodeA, "ca")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			sendErr := make(chan error, 1)
			go func() { sendErr <- tc.send(c) }()
			code, err := rawReply(c)
			elapsed := time.Since(start)
			if tc.want == 0xff {
				if err != io.EOF {
					t.Fatalf("reply %d, %v; want a close without a reply", code, err)
				}
			} else if err != nil || code != tc.want {
				t.Fatalf("reply %d, %v; want %d (%s)", code, err, tc.want, tc.want)
			}
			if limit := timeout + slack; elapsed > limit {
				t.Errorf("answered after %v, more than %v", elapsed, limit)
			}
			if tc.early && elapsed > timeout/2 {
				t.Errorf("answered after %v: bad input needs no timeout", elapsed)
			}
			if !tc.early && elapsed < timeout-50*time.Millisecond {
				t.Errorf("answered after %v, before the %v timeout", elapsed, timeout)
			}
			// Then the agent closes (a reset if it left bytes unread).
			_ = c.SetReadDeadline(time.Now().Add(shortWait))
			if n, err := c.Read(make([]byte, 8)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("after the reply: read %d, %v; want the connection closed", n, err)
			}
			c.Close() // stops a trickling sender
			<-sendErr
		})
	}
	if n := app.accepted.Load(); n != 0 {
		t.Errorf("bad requests reached the server %d times", n)
	}
	// The agent still serves.
	c := m.mustCall(t, nodeA, "ca", "echo.loc.t", protocol.OK)
	if got, err := roundTrip(c, "still here"); err != nil || got != "still here" {
		t.Fatalf("echo after bad requests: %q, %v", got, err)
	}
}

// TestOneByteThenClose checks the shortest request, cut off by a full close: no reply can be
// delivered, nothing panics, the agent logs it and goes on serving.
func TestOneByteThenClose(t *testing.T) {
	m := newStandardMesh(t)
	m.serve(t, nodeA, "la", "echo", echo)
	for range 20 {
		c, err := m.dialRaw(nodeA, "ca")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	a := m.node(nodeA)
	waitFor(t, "20 refusals in the access log", func() bool {
		n := 0
		for _, l := range a.accessLines() {
			if l.code() == protocol.Malformed && l.str("source_pod") == "t/ca" {
				n++
			}
		}
		return n == 20
	})
	c := m.mustCall(t, nodeA, "ca", "echo.loc.t", protocol.OK)
	if got, err := roundTrip(c, "ok"); err != nil || got != "ok" {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

// TestRequestBytesAfterTheIDBelongToTheApp checks that the agent reads exactly the request:
// bytes sent right behind it in the same write reach the server.
func TestRequestBytesAfterTheIDBelongToTheApp(t *testing.T) {
	m := newStandardMesh(t)
	m.serve(t, nodeA, "la", "echo", echo)
	m.serve(t, nodeB, "rb", "echo", echo)
	for _, service := range []string{"echo.loc.t", "echo.rem.t"} {
		t.Run(service, func(t *testing.T) {
			c, err := m.dialRaw(nodeA, "ca")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			id, _ := protocol.ParseServiceID(service)
			b, _ := protocol.AppendRequest(nil, id)
			if _, err := c.Write(append(b, "eager"...)); err != nil {
				t.Fatal(err)
			}
			if code, err := rawReply(c); err != nil || code != protocol.OK {
				t.Fatalf("reply %d, %v", code, err)
			}
			_ = c.CloseWrite()
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "eager" {
				t.Fatalf("echo %q, %v; want \"eager\"", got, err)
			}
		})
	}
}

// TestShutdownAnswers11 checks that a closed Node answers new handshakes 11, on its client
// sockets and on its tunnel, while a connection set up before goes on.
func TestShutdownAnswers11(t *testing.T) {
	m := newStandardMesh(t)
	m.serve(t, nodeA, "la", "echo", echo)
	m.serve(t, nodeB, "rb", "echo", echo)
	before := m.mustCall(t, nodeA, "ca", "echo.loc.t", protocol.OK)

	m.node(nodeA).n.Close()
	m.node(nodeA).n.Close() // idempotent
	m.mustCall(t, nodeA, "ca", "echo.loc.t", protocol.ShuttingDown)
	m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.ShuttingDown)
	// node-b's call to node-a goes through node-a's closed agent.
	m.mustCall(t, nodeB, "cb", "echo.loc.t", protocol.ShuttingDown)

	if got, err := roundTrip(before, "after close"); err != nil || got != "after close" {
		t.Fatalf("connection set up before Close: %q, %v", got, err)
	}
}

func send(b []byte) func(*net.UnixConn) error {
	return func(c *net.UnixConn) error {
		if len(b) == 0 {
			return nil
		}
		_, err := c.Write(b)
		return err
	}
}

func sendThenHalfClose(b []byte) func(*net.UnixConn) error {
	return func(c *net.UnixConn) error {
		if _, err := c.Write(b); err != nil {
			return err
		}
		return c.CloseWrite()
	}
}

// trickle writes one byte per interval until done or the connection fails.
func trickle(b []byte, interval time.Duration) func(*net.UnixConn) error {
	return func(c *net.UnixConn) error {
		for i := range b {
			if i > 0 {
				time.Sleep(interval)
			}
			if _, err := c.Write(b[i : i+1]); err != nil {
				return err
			}
		}
		return nil
	}
}
