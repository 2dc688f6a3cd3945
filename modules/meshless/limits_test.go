package meshless

import (
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// TestMaxConn holds maxConn (2) connections to a Pod and checks that the next one gets 7,
// on each path and whichever agent the held connections went through: the destination
// agent's own count is the one that holds. Closing a held connection makes room again.
func TestMaxConn(t *testing.T) {
	for _, tc := range []struct {
		name       string
		service    string
		holderNode string // where the held connections' caller is
		holderPod  string
		extraNode  string // where the refused caller is
		extraPod   string
	}{
		{"same node", "lim.loc.t", nodeA, "ca", nodeA, "ca"},
		{"cross node", "lim.rem.t", nodeA, "ca", nodeA, "ca"},
		// node-a has counted nothing: only node-b's count refuses the tunnelled call.
		{"cross node, held by the destination's own Pods", "lim.rem.t", nodeB, "cb", nodeA, "ca"},
		// node-b counts the tunnelled connections it carries to its Pod.
		{"cross node, held through the tunnel", "lim.rem.t", nodeA, "ca", nodeB, "cb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newStandardMesh(t)
			apps := []*serverApp{m.serve(t, nodeA, "la", "lim", greetEcho("la")), m.serve(t, nodeB, "rb", "lim", greetEcho("rb"))}
			var held []*net.UnixConn
			for i := range 2 {
				c := m.mustCall(t, tc.holderNode, tc.holderPod, tc.service, protocol.OK)
				if _, err := readGreeting(c); err != nil {
					t.Fatalf("held connection %d: %v", i, err)
				}
				held = append(held, c)
			}
			accepted := apps[0].accepted.Load() + apps[1].accepted.Load()
			m.mustCall(t, tc.extraNode, tc.extraPod, tc.service, protocol.ConnectionLimit)
			m.mustCall(t, tc.holderNode, tc.holderPod, tc.service, protocol.ConnectionLimit)
			if n := apps[0].accepted.Load() + apps[1].accepted.Load(); n != accepted {
				t.Errorf("refused calls reached the server")
			}
			// The held connections still work.
			for i, c := range held {
				if _, err := io.WriteString(c, "x"); err != nil {
					t.Fatalf("held connection %d: %v", i, err)
				}
				b := make([]byte, 1)
				if _, err := io.ReadFull(c, b); err != nil {
					t.Fatalf("held connection %d: %v", i, err)
				}
			}
			// Closing one makes room, once the agents have seen it end.
			held[0].Close()
			var c *net.UnixConn
			waitFor(t, "room for a connection", func() bool {
				var code protocol.Code
				var err error
				c, code, err = m.call(tc.extraNode, tc.extraPod, tc.service)
				if err != nil {
					t.Fatal(err)
				}
				return code == protocol.OK
			})
			defer c.Close()
			if _, err := readGreeting(c); err != nil {
				t.Fatal(err)
			}
			m.mustCall(t, tc.extraNode, tc.extraPod, tc.service, protocol.ConnectionLimit)
		})
	}
}

// TestMaxConnUnderConcurrency opens many connections at once to a Pod with maxConn 2, from
// both nodes: at no time does the server hold more than 2.
func TestMaxConnUnderConcurrency(t *testing.T) {
	m := newStandardMesh(t)
	var open, peak, total = make(chan int, 1), 0, 0
	open <- 0
	m.serve(t, nodeB, "rb", "lim", func(c *net.UnixConn) {
		n := <-open + 1
		peak, total = max(peak, n), total+1
		open <- n
		time.Sleep(20 * time.Millisecond)
		open <- <-open - 1
		_ = c.CloseWrite()
	})
	type result struct {
		code protocol.Code
		err  error
	}
	results := make(chan result, 40)
	for i := range 40 {
		node, pod := nodeA, "ca"
		if i%2 == 1 {
			node, pod = nodeB, "cb"
		}
		go func() {
			c, code, err := m.call(node, pod, "lim.rem.t")
			if c != nil {
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			}
			results <- result{code, err}
		}()
	}
	ok := 0
	for range 40 {
		r := <-results
		switch {
		case r.err != nil:
			t.Error(r.err)
		case r.code == protocol.OK:
			ok++
		case r.code != protocol.ConnectionLimit:
			t.Errorf("code %d (%s), want 0 or 7", r.code, r.code)
		}
	}
	<-open
	if peak > 2 {
		t.Errorf("the server held %d connections at once, maxConn is 2", peak)
	}
	if ok == 0 || ok != total {
		t.Errorf("%d calls answered OK, the server saw %d", ok, total)
	}
}

// TestIdleTimeout checks idleTimeout (300ms) on each path: an idle connection is closed by
// the agent, one that moves a byte every 100ms stays open past a second.
func TestIdleTimeout(t *testing.T) {
	m := newStandardMesh(t)
	m.serve(t, nodeA, "la", "idle", greetEcho("la"))
	m.serve(t, nodeB, "rb", "idle", greetEcho("rb"))
	m.serve(t, nodeA, "la", "echo", greetEcho("la"))
	for _, tc := range []struct {
		name    string
		service string
		agents  []string // the agents the connection goes through
	}{
		{"same node", "idle.loc.t", []string{nodeA}},
		{"cross node", "idle.rem.t", []string{nodeA, nodeB}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("idle", func(t *testing.T) {
				c := m.mustCall(t, nodeA, "ca", tc.service, protocol.OK)
				if _, err := readGreeting(c); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				_ = c.SetReadDeadline(time.Now().Add(shortWait))
				n, err := c.Read(make([]byte, 1))
				d := time.Since(start)
				if err != io.EOF {
					t.Fatalf("read %d, %v; want EOF", n, err)
				}
				if d < 250*time.Millisecond || d > time.Second {
					t.Errorf("closed after %v idle, want about 300ms", d)
				}
				// Across nodes both agents time the connection out; whichever closes first
				// logs the idle timeout, and the other sees the connection end.
				waitFor(t, "the idle close in the access log", func() bool {
					for _, node := range tc.agents {
						for _, l := range m.node(node).accessLines() {
							if l.str("destination") == tc.service && l.code() == protocol.OK && l["idle_timeout"] == true {
								return true
							}
						}
					}
					return false
				})
				for _, node := range tc.agents {
					m.node(node).access.TakeAll()
				}
			})
			t.Run("active", func(t *testing.T) {
				c := m.mustCall(t, nodeA, "ca", tc.service, protocol.OK)
				if _, err := readGreeting(c); err != nil {
					t.Fatal(err)
				}
				b := make([]byte, 1)
				for i := range 12 { // 1.2s
					time.Sleep(100 * time.Millisecond)
					_ = c.SetDeadline(time.Now().Add(shortWait))
					if _, err := c.Write([]byte{byte(i)}); err != nil {
						t.Fatalf("write %d: %v", i, err)
					}
					if _, err := io.ReadFull(c, b); err != nil || b[0] != byte(i) {
						t.Fatalf("read %d: %v %v", i, b, err)
					}
				}
			})
			t.Run("only one direction moves", func(t *testing.T) {
				// Bytes one way keep the connection: idle means idle both ways.
				c := m.mustCall(t, nodeA, "ca", tc.service, protocol.OK)
				if _, err := readGreeting(c); err != nil {
					t.Fatal(err)
				}
				for i := range 8 {
					time.Sleep(100 * time.Millisecond)
					if _, err := c.Write([]byte{byte(i)}); err != nil {
						t.Fatalf("write %d: %v", i, err)
					}
				}
				_ = c.CloseWrite()
				_ = c.SetReadDeadline(time.Now().Add(shortWait))
				got, err := io.ReadAll(c)
				if err != nil || len(got) != 8 {
					t.Fatalf("echo of 8 bytes: %v, %v", got, err)
				}
			})
		})
	}
	t.Run("no idle timeout", func(t *testing.T) {
		c := m.mustCall(t, nodeA, "ca", "echo.loc.t", protocol.OK)
		if _, err := readGreeting(c); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(600 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); !os.IsTimeout(err) {
			t.Fatalf("a service without idleTimeout: read %v, want our own deadline", err)
		}
	})
}
