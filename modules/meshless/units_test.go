package meshless

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/policy"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

func TestConnTable(t *testing.T) {
	var ct ConnTable
	if n := ct.ActiveConns("t/p", "s"); n != 0 {
		t.Fatalf("empty table: %d", n)
	}
	r1, ok1 := ct.Acquire("t/p", "s", 2)
	r2, ok2 := ct.Acquire("t/p", "s", 2)
	if !ok1 || !ok2 {
		t.Fatal("refused below the limit")
	}
	if _, ok := ct.Acquire("t/p", "s", 2); ok {
		t.Fatal("a third connection passed maxConn 2")
	}
	if n := ct.ActiveConns("t/p", "s"); n != 2 {
		t.Fatalf("after a refusal: %d active, want 2", n)
	}
	// Other services and Pods have their own counts; 0 means no limit.
	if _, ok := ct.Acquire("t/p", "other", 1); !ok {
		t.Error("another service shares the count")
	}
	if _, ok := ct.Acquire("t/q", "s", 1); !ok {
		t.Error("another Pod shares the count")
	}
	for range 5 {
		if _, ok := ct.Acquire("t/r", "s", 0); !ok {
			t.Fatal("maxConn 0 limited")
		}
	}
	if n := ct.ActiveConns("t/r", "s"); n != 5 {
		t.Errorf("unlimited: %d active, want 5", n)
	}
	// A key made of both parts cannot collide with another split of the same bytes.
	if n := ct.ActiveConns("t/p\x00s", ""); n != 0 {
		t.Errorf("a joined key reads %d", n)
	}
	r1()
	r1() // idempotent
	if n := ct.ActiveConns("t/p", "s"); n != 1 {
		t.Fatalf("after releasing one twice: %d active, want 1", n)
	}
	r3, ok := ct.Acquire("t/p", "s", 2)
	if !ok {
		t.Fatal("no room after a release")
	}
	r2()
	r3()
	if n := ct.ActiveConns("t/p", "s"); n != 0 {
		t.Fatalf("all released: %d active", n)
	}
}

// TestConnTableConcurrent races acquirers against a limit: the count never passes it, and
// everything acquired is released.
func TestConnTableConcurrent(t *testing.T) {
	var (
		ct   ConnTable
		peak atomic.Int64
		cur  atomic.Int64
		wg   sync.WaitGroup
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				release, ok := ct.Acquire("t/p", "s", 3)
				if !ok {
					continue
				}
				n := cur.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				cur.Add(-1)
				release()
				release()
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 3 {
		t.Errorf("%d connections held at once with maxConn 3", p)
	}
	if n := ct.ActiveConns("t/p", "s"); n != 0 {
		t.Errorf("%d left counted", n)
	}
}

func TestParseAuthority(t *testing.T) {
	for _, tc := range []struct {
		host string
		pod  string
		id   protocol.ServiceID
		bad  bool
	}{
		{host: "web-0.http.api.shop", pod: "web-0", id: protocol.ServiceID{Service: "http", Meshlet: "api", Namespace: "shop"}},
		{host: "web.v1.0.http.api.shop", pod: "web.v1.0", id: protocol.ServiceID{Service: "http", Meshlet: "api", Namespace: "shop"}},
		{host: "a.b.c.d.e.f.g", pod: "a.b.c.d", id: protocol.ServiceID{Service: "e", Meshlet: "f", Namespace: "g"}},
		{host: "", bad: true},
		{host: "pod", bad: true},
		{host: "http.api.shop", bad: true},
		{host: "pod.http.api", bad: true},
		{host: "pod.http.api.Shop", bad: true},
		{host: "pod.ht_tp.api.shop", bad: true},
		{host: "pod.http..shop", bad: true},
		{host: "pod.http.api.shop.", bad: true},
		{host: "pod.-http.api.shop", bad: true},
		{host: "pod.http.api.shop:15008", bad: true},
	} {
		t.Run(tc.host, func(t *testing.T) {
			pod, id, err := parseAuthority(tc.host)
			if tc.bad {
				if err == nil || codeOf(err) != protocol.Malformed {
					t.Fatalf("parseAuthority(%q) = %q, %v, %v; want a malformed refusal", tc.host, pod, id, err)
				}
				return
			}
			if err != nil || pod != tc.pod || id != tc.id {
				t.Fatalf("parseAuthority(%q) = %q, %v, %v; want %q, %v", tc.host, pod, id, err, tc.pod, tc.id)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	for code, want := range map[protocol.Code]int{
		protocol.GeneralFailure:         http.StatusInternalServerError,
		protocol.UnsupportedVersion:     http.StatusBadRequest,
		protocol.Malformed:              http.StatusBadRequest,
		protocol.ServiceNotFound:        http.StatusNotFound,
		protocol.NotAllowed:             http.StatusForbidden,
		protocol.NoEndpoint:             http.StatusServiceUnavailable,
		protocol.ConnectionLimit:        http.StatusTooManyRequests,
		protocol.DestinationRefused:     http.StatusBadGateway,
		protocol.DestinationUnreachable: http.StatusBadGateway,
		protocol.Timeout:                http.StatusGatewayTimeout,
		protocol.ShuttingDown:           http.StatusServiceUnavailable,
	} {
		if got := statusOf(code); got != want {
			t.Errorf("statusOf(%d) = %d, want %d", code, got, want)
		}
	}
}

func TestCodeOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want protocol.Code
	}{
		{nil, protocol.OK},
		{policy.Refuse(protocol.ConnectionLimit, "full"), protocol.ConnectionLimit},
		{&protocol.Error{Code: protocol.Malformed}, protocol.Malformed},
		{errors.New("other"), protocol.GeneralFailure},
		{os.ErrDeadlineExceeded, protocol.Timeout},
	} {
		if got := codeOf(tc.err); got != tc.want {
			t.Errorf("codeOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// unixPair returns the two ends of a Unix stream connection.
func unixPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ml")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "s"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.DialUnix("unix", nil, ln.Addr().(*net.UnixAddr))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.AcceptUnix()
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestSpliceHalfClose: the client half-closes, the server sees EOF, and its reply, sent
// after, still reaches the client, followed by EOF; splice counts both directions.
func TestSpliceHalfClose(t *testing.T) {
	client, agentSide := unixPair(t)
	agentUp, server := unixPair(t)
	done := make(chan spliced, 1)
	go func() { done <- splice(agentSide, agentUp, 0) }()

	if _, err := io.WriteString(client, "request"); err != nil {
		t.Fatal(err)
	}
	if err := client.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = server.SetDeadline(time.Now().Add(shortWait))
	req, err := io.ReadAll(server)
	if err != nil || string(req) != "request" {
		t.Fatalf("server read %q, %v", req, err)
	}
	if _, err := io.WriteString(server, "the reply, after EOF"); err != nil {
		t.Fatalf("server reply: %v", err)
	}
	server.Close()
	_ = client.SetDeadline(time.Now().Add(shortWait))
	reply, err := io.ReadAll(client)
	if err != nil || string(reply) != "the reply, after EOF" {
		t.Fatalf("client read %q, %v", reply, err)
	}
	select {
	case res := <-done:
		if res.up != 7 || res.down != 20 || res.idle {
			t.Errorf("splice = %+v, want up 7, down 20", res)
		}
	case <-time.After(shortWait):
		t.Fatal("splice did not return")
	}
}

// TestSpliceIdle: with an idle timeout, a silent pair is closed and reported idle; traffic
// in either direction postpones it.
func TestSpliceIdle(t *testing.T) {
	client, agentSide := unixPair(t)
	agentUp, server := unixPair(t)
	done := make(chan spliced, 1)
	start := time.Now()
	go func() { done <- splice(agentSide, agentUp, 100*time.Millisecond) }()
	go func() { _, _ = io.Copy(server, server) }()
	for i := range 5 {
		time.Sleep(50 * time.Millisecond)
		if _, err := client.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case res := <-done:
		if !res.idle || res.up != 5 || res.down != 5 {
			t.Errorf("splice = %+v, want idle after 5 bytes each way", res)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("closed after %v, while bytes moved every 50ms", d)
		}
	case <-time.After(shortWait):
		t.Fatal("splice did not time out")
	}
	_ = client.SetReadDeadline(time.Now().Add(shortWait))
	if got, err := io.ReadAll(client); err != nil || len(got) != 5 {
		t.Errorf("client read %v, %v", got, err)
	}
}

// TestSpliceServerGone: a server that closes its socket looks like a half-close (EOF) to the
// client; the client's next bytes cannot be delivered, and the agent then closes both sides.
func TestSpliceServerGone(t *testing.T) {
	client, agentSide := unixPair(t)
	agentUp, server := unixPair(t)
	done := make(chan spliced, 1)
	go func() { done <- splice(agentSide, agentUp, 0) }()
	server.Close()
	_ = client.SetReadDeadline(time.Now().Add(shortWait))
	if _, err := io.ReadAll(client); err != nil {
		t.Fatalf("client: %v", err)
	}
	select {
	case <-done:
		t.Fatal("splice ended while the client could still send")
	case <-time.After(50 * time.Millisecond):
	}
	// The first write may land in the agent's socket buffer before the server's close is
	// known; the agent's write to the gone server then fails.
	for i := 0; ; i++ {
		if _, err := client.Write([]byte("more")); err != nil {
			break
		}
		select {
		case res := <-done:
			if res.down != 0 {
				t.Errorf("splice = %+v", res)
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
		if i > 500 {
			t.Fatal("splice did not return after the server went away")
		}
	}
	select {
	case <-done:
	case <-time.After(shortWait):
		t.Fatal("splice did not return after the server went away")
	}
}

// TestNew checks New's defaults and errors.
func TestNew(t *testing.T) {
	meshlets, pods := standardWorld()
	m := newTestMesh(t, meshlets, pods)
	if _, err := New(Config{}, m.meshlets, m.pods); err == nil {
		t.Error("New without a node name succeeded")
	}
	for _, port := range []int{-1, 65536} {
		if _, err := New(Config{Node: "n", TunnelPort: port}, m.meshlets, m.pods); err == nil {
			t.Errorf("New with tunnel port %d succeeded", port)
		}
	}
	n, err := New(Config{Node: "n"}, m.meshlets, m.pods)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	c := n.Config()
	if c.Root != DefaultRoot || c.TunnelPort != DefaultTunnelPort || c.HandshakeTimeout != DefaultHandshakeTimeout ||
		c.ConnectTimeout != DefaultConnectTimeout || c.Conns == nil || c.Tunnels == nil || c.Logger == nil || c.AccessLog == nil {
		t.Errorf("defaults not applied: %+v", c)
	}
	var _ policy.ActiveConns = c.Conns
}
