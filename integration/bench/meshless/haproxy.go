package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// haproxyPair is the haproxy path: two HAProxy processes, each one process with one
// thread, as one node agent is one process.
//
//	client ─unix─► A (a.sock) ─TLS 1.3, client cert, from 127.0.0.2─► B (127.0.0.3:port) ─unix─► server
type haproxyPair struct {
	a, b   *process
	socket string // A's Unix socket, where clients connect
}

// haproxyConfig is what both instances share.
type haproxyConfig struct {
	bin     string
	pki     *pki
	server  string // the server's Unix socket, where B forwards
	maxconn int
	ulimit  int    // ulimit-n: two descriptors per connection and some to spare
	ciphers string // TLS 1.3 cipher suites; empty for OpenSSL's default
	bufsize int    // tune.bufsize; 0 for HAProxy's default, 16384
}

// haproxySpareFDs are the descriptors an instance needs besides two per connection:
// listeners, the poller, logs.
const haproxySpareFDs = 200

// newHAProxyConfig sizes maxconn for conns idle connections (and at least 20,000), within
// the descriptors this process may give its children (RLIMIT_NOFILE's hard limit, unless
// this process may raise it): HAProxy A holds two descriptors per connection, the client's
// and the tunnel's.
func newHAProxyConfig(bin string, p *pki, server string, conns int, nofile uint64, ciphers string, bufsize int) haproxyConfig {
	maxconn := max(20000, conns+1000)
	if limit := (int(nofile) - haproxySpareFDs) / 2; maxconn > limit {
		maxconn = limit
	}
	return haproxyConfig{bin: bin, pki: p, server: server, maxconn: maxconn, ulimit: 2*maxconn + haproxySpareFDs, ciphers: ciphers, bufsize: bufsize}
}

// startHAProxyPair writes both configurations to dir, checks them with haproxy -c, starts
// B, then A, and returns once both accept connections.
func startHAProxyPair(ctx context.Context, c haproxyConfig, dir string) (*haproxyPair, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort("127.0.0.3")
	if err != nil {
		return nil, err
	}
	bAddr := net.JoinHostPort("127.0.0.3", strconv.Itoa(port))
	socket := filepath.Join(dir, "a.sock")
	ciphers := ""
	if c.ciphers != "" {
		ciphers = " ciphersuites " + c.ciphers
	}
	// The server of A and the bind of B are the tunnel: TLS 1.3 only, each side's
	// certificate verified against the CA, the server's name checked.
	aCfg := c.global("A: Unix socket in, mTLS out") + fmt.Sprintf(`frontend apps
	bind unix@%s
	default_backend tunnel

backend tunnel
	server b %s source 127.0.0.2 ssl crt %s ca-file %s verify required verifyhost %s ssl-min-ver TLSv1.3%s
`, socket, bAddr, c.pki.clientPEM, c.pki.caFile, serverName, ciphers)
	bCfg := c.global("B: mTLS in, Unix socket out") + fmt.Sprintf(`frontend tunnel
	bind %s ssl crt %s ca-file %s verify required ssl-min-ver TLSv1.3%s
	default_backend app

backend app
	server s unix@%s
`, bAddr, c.pki.serverPEM, c.pki.caFile, ciphers, c.server)

	p := &haproxyPair{socket: socket}
	ok := false
	defer func() {
		if !ok {
			p.stop()
		}
	}()
	for _, inst := range []struct {
		name, cfg string
		proc      **process
		ready     func() error
	}{
		{"haproxy-b", bCfg, &p.b, func() error { return probe(ctx, "tcp", bAddr) }},
		{"haproxy-a", aCfg, &p.a, func() error { return probe(ctx, "unix", socket) }},
	} {
		cfgPath := filepath.Join(dir, inst.name+".cfg")
		if err := os.WriteFile(cfgPath, []byte(inst.cfg), 0o644); err != nil {
			return nil, err
		}
		out, err := exec.CommandContext(ctx, c.bin, "-c", "-f", cfgPath).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%s -c -f %s: %w\n%s", c.bin, cfgPath, err, indent(tail(string(out), 2000)))
		}
		if strings.Contains(string(out), "[WARNING]") {
			logf("%s -c -f %s warns:\n%s", c.bin, cfgPath, indent(string(out)))
		}
		proc, err := startProcess(inst.name, filepath.Join(dir, inst.name+".log"), nil, c.bin, "-db", "-f", cfgPath)
		if err != nil {
			return nil, err
		}
		*inst.proc = proc
		if err := waitReady(ctx, proc, inst.ready); err != nil {
			return nil, fmt.Errorf("%s (log %s): %w", inst.name, proc.log.Name(), err)
		}
	}
	ok = true
	return p, nil
}

// global is the part of both configurations before the proxies.
func (c haproxyConfig) global(role string) string {
	tune := ""
	if c.bufsize > 0 {
		tune = fmt.Sprintf("\ttune.bufsize %d\n", c.bufsize)
	}
	return fmt.Sprintf(`# haproxy %s. One process, one thread: one node agent.
global
	nbthread 1
	maxconn %d
	ulimit-n %d
%s
defaults
	mode tcp
	maxconn %d
	timeout connect 5s
	timeout client 1h
	timeout server 1h

`, role, c.maxconn, c.ulimit, tune, c.maxconn)
}

func (p *haproxyPair) pids() []int { return []int{p.a.pid(), p.b.pid()} }

// exited returns an error if either instance has exited.
func (p *haproxyPair) exited() error {
	if err := p.a.exited(); err != nil {
		return err
	}
	return p.b.exited()
}

func (p *haproxyPair) stop() {
	for _, proc := range []*process{p.a, p.b} {
		if proc != nil {
			proc.stop()
		}
	}
}

// haproxyVersion returns the first line of haproxy -v.
func haproxyVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "-v").Output()
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}

// freePort returns a TCP port that was free on host a moment ago.
func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// probe connects and closes at once.
func probe(ctx context.Context, network, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// waitReady polls ready until it succeeds, the process exits, or 10 seconds pass.
func waitReady(ctx context.Context, p *process, ready func() error) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if perr := p.exited(); perr != nil {
			return perr
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after 10s: %w\n%s", err, indent(p.out.tail(2000)))
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
