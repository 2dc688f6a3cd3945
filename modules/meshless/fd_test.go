package meshless

import (
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/identity"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// openFDs counts this process's open descriptors. Reading the directory opens one itself,
// the same one each time.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(entries)
}

// TestNoDescriptorLeaks makes 300 calls, allowed, refused and malformed, on both paths, and
// checks that once the mesh is stopped the process holds as many descriptors as before.
func TestNoDescriptorLeaks(t *testing.T) {
	// A first round opens what the runtime keeps for the life of the process (the net
	// poller's descriptors).
	t.Run("warm up", func(t *testing.T) { mixedCalls(t, 10) })
	before := openFDs(t)
	t.Run("calls", func(t *testing.T) { mixedCalls(t, 300) })
	deadline := time.Now().Add(2 * time.Second)
	after := openFDs(t)
	for after != before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		after = openFDs(t)
	}
	if after != before {
		t.Errorf("%d descriptors open before the calls, %d after", before, after)
	}
}

// mixedCalls starts a mesh, makes n calls of ten kinds, and stops it (in t's cleanup).
func mixedCalls(t *testing.T, n int) {
	m := newStandardMesh(t)
	m.serve(t, nodeA, "la", "echo", echo)
	m.serve(t, nodeB, "rb", "echo", echo)
	peer := m.rawTunnelClient(m.ca, identity.MeshletID(testTD, testNS, "cli"))
	expect := func(i int, node, pod, service string, want protocol.Code) {
		t.Helper()
		c, code, err := m.call(node, pod, service)
		if err != nil || code != want {
			t.Fatalf("call %d to %s: %d, %v; want %d", i, service, code, err, want)
		}
		if c != nil {
			if got, err := roundTrip(c, "x"); err != nil || got != "x" {
				t.Fatalf("call %d: echo %q, %v", i, got, err)
			}
			c.Close()
		}
	}
	for i := range n {
		switch i % 10 {
		case 0:
			expect(i, nodeA, "ca", "echo.loc.t", protocol.OK)
		case 1:
			expect(i, nodeA, "ca", "echo.rem.t", protocol.OK)
		case 2:
			expect(i, nodeB, "cb", "echo.loc.t", protocol.OK)
		case 3:
			expect(i, nodeA, "na", "echo.rem.t", protocol.NotAllowed)
		case 4:
			expect(i, nodeA, "ca", "gone.rem.t", protocol.DestinationRefused)
		case 5:
			expect(i, nodeA, "ca", "echo.far.t", protocol.DestinationUnreachable)
		case 6:
			expect(i, nodeA, "ca", "nosuch.loc.t", protocol.ServiceNotFound)
		case 7: // length 0
			c, err := m.dialRaw(nodeB, "cb")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = c.Write([]byte{1, 0})
			if code, err := rawReply(c); err != nil || code != protocol.Malformed {
				t.Fatalf("call %d: %d, %v", i, code, err)
			}
			c.Close()
		case 8: // one byte, then gone
			c, err := m.dialRaw(nodeA, "ca")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = c.Write([]byte{1})
			c.Close()
		case 9: // a malformed tunnel stream
			resp, pw, err := connect(peer, m.tunnelAddr(nodeB), http.MethodConnect, "bad")
			if err != nil {
				t.Fatal(err)
			}
			pw.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("call %d: %s", i, resp.Status)
			}
		}
	}
}
