package meshless

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/identity"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// TestCertificateRotation rotates every certificate of both nodes every 200ms for about 2s
// while four clients make cross-node calls without a pause: no call fails, the TLS
// connections opened after each rotation present that rotation's certificates on both
// sides, and a connection opened before the first rotation still works after the last, its
// certificates' root long out of the trust bundle.
func TestCertificateRotation(t *testing.T) {
	m := newStandardMesh(t)
	// Each rotation replaces the root too, and the trust bundle keeps only the previous
	// one: a side that kept presenting an old certificate, rather than asking for the
	// current one at each handshake, would fail its handshakes two rotations later.
	// Established connections are not verified again: the long-lived one outlives its
	// certificates' root.
	m.ca.rotateRoots = true
	m.serve(t, nodeB, "rb", "echo", echo)
	long := m.mustCall(t, nodeA, "ca", "echo.rem.t", protocol.OK)
	ping := func(i int) error {
		_ = long.SetDeadline(time.Now().Add(shortWait))
		if _, err := long.Write([]byte{byte(i)}); err != nil {
			return err
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(long, b); err != nil {
			return err
		}
		if b[0] != byte(i) {
			return fmt.Errorf("echo %d, want %d", b[0], byte(i))
		}
		return nil
	}
	if err := ping(0); err != nil {
		t.Fatal(err)
	}
	gen0 := m.ca.issued.Load()

	var (
		stop     atomic.Bool
		ok, fail atomic.Int64
		wg       sync.WaitGroup
		errMu    sync.Mutex
		errs     []error
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				msg := fmt.Sprintf("worker %d call %d", w, i)
				err := func() error {
					c, code, err := m.call(nodeA, "ca", "echo.rem.t")
					if err != nil {
						return err
					}
					if code != protocol.OK {
						return fmt.Errorf("code %d (%s)", code, code)
					}
					defer c.Close()
					got, err := roundTrip(c, msg)
					if err != nil {
						return err
					}
					if got != msg {
						return fmt.Errorf("echo %q", got)
					}
					return nil
				}()
				if err != nil {
					fail.Add(1)
					errMu.Lock()
					if len(errs) < 5 {
						errs = append(errs, fmt.Errorf("%s: %w", msg, err))
					}
					errMu.Unlock()
					continue
				}
				ok.Add(1)
			}
		}()
	}
	const rotations = 10
	for i := 1; i <= rotations; i++ {
		time.Sleep(200 * time.Millisecond)
		if gen, err := m.ca.rotate(); err != nil || gen != i {
			t.Fatalf("generation %d, %v; want %d", gen, err, i)
		}
		// New tunnel connections from here on; open streams keep theirs.
		m.closeTunnels(nodeA)
		if err := ping(i); err != nil {
			t.Fatalf("the long-lived connection after rotation %d: %v", i, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if fail.Load() != 0 || ok.Load() < 100 {
		t.Fatalf("%d calls failed, %d succeeded", fail.Load(), ok.Load())
	}
	t.Logf("%d calls during %d rotations, %d certificates issued", ok.Load(), rotations, m.ca.issued.Load()-gen0)

	client := identity.MeshletID(testTD, testNS, "cli").String()
	server := identity.NodeID(testTD, nodeB).String()
	for gen := 1; gen <= rotations; gen++ {
		asked := m.ca.askedIn(gen)
		if asked[client] == 0 || asked[server] == 0 {
			t.Errorf("after rotation %d no new handshake presented the new certificates: %v", gen, asked)
		}
	}
	if n := m.ca.issued.Load() - gen0; n < 2*rotations {
		t.Errorf("%d certificates issued over %d rotations of 2 identities", n, rotations)
	}
	if n := m.node(nodeB).ln.accepted.Load(); n < rotations+1 {
		t.Errorf("node-b accepted %d tunnel connections over %d rotations", n, rotations)
	}
	if err := ping(rotations + 1); err != nil {
		t.Fatalf("the long-lived connection at the end: %v", err)
	}

	// A peer connecting now sees node-b's current certificate.
	if _, err := m.ca.rotate(); err != nil {
		t.Fatal(err)
	}
	tr := m.rawTunnelClient(m.ca, identity.MeshletID(testTD, testNS, "cli"))
	resp, pw, err := connect(tr, m.tunnelAddr(nodeB), http.MethodConnect, "rb.echo.rem.t")
	if err != nil {
		t.Fatal(err)
	}
	pw.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	current, err := m.ca.Certificate(t.Context(), server)
	if err != nil {
		t.Fatal(err)
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 ||
		!bytes.Equal(resp.TLS.PeerCertificates[0].Raw, current.Certificate[0]) {
		t.Error("node-b presented a certificate other than its current one")
	}
}
