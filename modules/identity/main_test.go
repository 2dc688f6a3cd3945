package identity

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp"
	_ "github.com/caddyserver/caddy/v2/modules/filestorage"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a provisioned (not started) Caddy config with file storage and a pki app, in
// which tests load providers as the mesh app would. Several providers, even of different
// configs, can live in one env.
type env struct {
	ctx     caddy.Context
	storage string
}

// newEnv provisions storage and a pki app defining the given authorities.
func newEnv(t *testing.T, authorities ...string) *env {
	t.Helper()
	e := &env{storage: t.TempDir()}
	cfg := new(caddy.Config)
	if err := json.Unmarshal(mustJSON(t, map[string]any{
		"admin":   map[string]any{"disabled": true},
		"storage": map[string]any{"module": "file_system", "root": e.storage},
		"apps":    map[string]any{"pki": pkiApp(authorities...)},
	}), cfg); err != nil {
		t.Fatal(err)
	}
	ctx, err := caddy.ProvisionContext(cfg)
	if err != nil {
		t.Fatalf("provisioning caddy: %v", err)
	}
	e.ctx = ctx
	return e
}

// pkiApp is the pki app config for the authorities, none installed in the system's trust
// store.
func pkiApp(authorities ...string) map[string]any {
	cas := map[string]any{}
	for _, a := range authorities {
		cas[a] = map[string]any{"install_trust": false}
	}
	return map[string]any{"certificate_authorities": cas}
}

// provider loads a mesh.identity.internal module with the given config, cleaned up with
// the test.
func (e *env) provider(t *testing.T, cfg map[string]any) *Internal {
	t.Helper()
	p, err := e.tryProvider(t, cfg)
	if err != nil {
		t.Fatalf("loading provider %v: %v", cfg, err)
	}
	return p
}

func (e *env) tryProvider(t *testing.T, cfg map[string]any) (*Internal, error) {
	t.Helper()
	ctx, cancel := caddy.NewContext(e.ctx)
	t.Cleanup(cancel)
	mod, err := ctx.LoadModuleByID("mesh.identity.internal", mustJSON(t, cfg))
	if err != nil {
		return nil, err
	}
	return mod.(*Internal), nil
}

// rootPEM returns the path of an authority's root certificate in the env's storage.
func (e *env) rootPEM(t *testing.T, authority string) string {
	t.Helper()
	p := filepath.Join(e.storage, "pki", "authorities", authority, "root.crt")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// echoServer accepts TLS connections on 127.0.0.1:0 and echoes lines back. It reports
// each handshake's outcome on results.
type echoServer struct {
	ln      net.Listener
	results chan handshakeResult
	wg      sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
}

type handshakeResult struct {
	peer ID
	err  error
}

func startEcho(t *testing.T, cfg *tls.Config) *echoServer {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{ln: ln, results: make(chan handshakeResult, 64)}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *echoServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c.(*tls.Conn))
	}
}

func (s *echoServer) serve(c *tls.Conn) {
	defer s.wg.Done()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.Handshake(); err != nil {
		s.results <- handshakeResult{err: err}
		return
	}
	peer, err := PeerID(c.ConnectionState())
	s.results <- handshakeResult{peer: peer, err: err}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := c.Write([]byte(line)); err != nil {
			return
		}
	}
}

func (s *echoServer) addr() string { return s.ln.Addr().String() }

// result waits for the next handshake's outcome.
func (s *echoServer) result(t *testing.T) handshakeResult {
	t.Helper()
	select {
	case r := <-s.results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no handshake within 10s")
		return handshakeResult{}
	}
}

func (s *echoServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// dial connects with cfg and makes one round trip, so that a client certificate the
// server refuses (which TLS 1.3 reports only after the client's handshake) shows up as an
// error here.
func dial(t *testing.T, addr string, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	if err := roundTrip(c, "hello"); err != nil {
		c.Close()
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

func roundTrip(c *tls.Conn, msg string) error {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != msg+"\n" {
		return errors.New("echo mismatch: " + line)
	}
	return nil
}

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
