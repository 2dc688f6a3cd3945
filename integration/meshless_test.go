package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// freePortOn returns a port free on every one of the addresses at once: the tunnel port is
// the same on every node.
func freePortOn(t *testing.T, addrs ...string) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", net.JoinHostPort(addrs[0], "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ok := true
		var held []net.Listener
		for _, a := range addrs[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		ln.Close()
		for _, l := range held {
			l.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no port free on all of", addrs)
	return 0
}

// freePortPair returns a port p of 127.0.0.1 with p+1 free as well.
func freePortPair(t *testing.T) int {
	t.Helper()
	for range 50 {
		p := freePortOn(t, "127.0.0.1")
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+1))); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0
}

// TestMeshlessLocalExample runs examples/meshless-local/run.sh, the README's quickstart, as
// a user would, on free ports: two agent processes, the sample programs, calls that cross
// nodes, a denied call and an unknown service.
func TestMeshlessLocalExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs processes")
	}
	port := freePortOn(t, "127.0.0.2", "127.0.0.3")
	admin := freePortPair(t) // run.sh gives node-b the next port
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "./examples/meshless-local/run.sh")
	cmd.Dir = ".."
	// Caddy's data and autosaved config go to a temporary folder; HOME stays, so that the
	// script's go build finds the module and build caches.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "TUNNEL_PORT="+strconv.Itoa(port), "ADMIN_PORT="+strconv.Itoa(admin), "CALLS=40",
		"XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"ok hello from echo-v1-0", "5 not allowed", "4 service not found", "== ok: "} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("run.sh output lacks %q:\n%s", want, out)
		}
	}
}

// agentProc is one node agent process of the meshless-local example's Caddyfile.
type agentProc struct {
	node, ip, admin string
	logs            *syncBuffer
	cmd             *exec.Cmd
}

// syncBuffer is a log that a process writes and a test reads at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startAgent runs the example's Caddyfile for one node, as run.sh does.
func startAgent(t *testing.T, bin, state, node, ip string, tunnelPort int) *agentProc {
	t.Helper()
	a := &agentProc{node: node, ip: ip, admin: freeAddr(t), logs: new(syncBuffer)}
	a.cmd = exec.Command(bin, "run", "--adapter", "caddyfile", "--config", "../examples/meshless-local/Caddyfile")
	home := t.TempDir()
	a.cmd.Env = append(os.Environ(), "NODE_NAME="+node, "NODE_IP="+ip, "STATE="+state,
		"MANIFESTS="+filepath.Join("..", "examples", "meshless-local", "manifests"),
		"TUNNEL_PORT="+strconv.Itoa(tunnelPort), "CADDYMESH_ADMIN="+a.admin,
		"HOME="+home, "XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home)
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = a.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = a.cmd.Process.Kill()
			<-done
			t.Errorf("agent %s did not exit on SIGTERM", node)
		}
		if t.Failed() {
			t.Logf("agent %s output:\n%s", node, a.logs.String())
		}
	})
	eventually(t, 30*time.Second, func() string {
		if !adminUp(a.admin) {
			return "admin endpoint of " + node + " not up"
		}
		return ""
	})
	return a
}

// echoServer serves a Pod's socket: a greeting naming the Pod, then an echo.
func echoServer(t *testing.T, path, name string) {
	t.Helper()
	eventually(t, 20*time.Second, func() string {
		if _, err := os.Stat(filepath.Dir(path)); err != nil {
			return "no server folder yet: " + err.Error()
		}
		return ""
	})
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "hello from %s\n", name)
				_, _ = io.Copy(c, c)
			}()
		}
	}()
}

// call makes one call through a client socket and returns the reply code and, on OK, the
// open connection with the greeting read.
func call(socket, service string) (protocol.Code, net.Conn, string) {
	c, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return protocol.GeneralFailure, nil, err.Error()
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	id, _ := protocol.ParseServiceID(service)
	if err := protocol.WriteRequest(c, id); err != nil {
		c.Close()
		return protocol.GeneralFailure, nil, err.Error()
	}
	if err := protocol.ReadReply(c); err != nil {
		c.Close()
		return protocol.CodeOf(err), nil, err.Error()
	}
	var line []byte
	var b [1]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			c.Close()
			return protocol.GeneralFailure, nil, err.Error()
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	_ = c.SetDeadline(time.Time{})
	return protocol.OK, c, string(line)
}

// echoOnce sends a message on an open call and checks that it comes back.
func echoOnce(c net.Conn, msg string) error {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return fmt.Errorf("echo %q, want %q", buf, msg)
	}
	return nil
}

// reload posts the agent's running config back to it, forcing Caddy to reload although
// nothing changed: the case that must not reconnect or drop traffic.
func (a *agentProc) reload(t *testing.T) {
	t.Helper()
	resp, err := http.Get("http://" + a.admin + "/config/")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.admin+"/load", bytes.NewReader(cfg))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cache-Control", "must-revalidate")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reloading %s: %s: %s", a.node, resp.Status, body)
	}
}

// TestMeshlessReloadKeepsTraffic runs two agent processes, and reloads each one's unchanged
// config while a long-lived call stays open and new calls keep coming: the open call keeps
// working, no new call fails, and the tunnel is not reconnected (node-b logs one tunnel
// connection in all).
func TestMeshlessReloadKeepsTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs processes")
	}
	bin := buildBinary(t)
	state, err := os.MkdirTemp("", "mlr") // short: Unix socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	port := freePortOn(t, "127.0.0.2", "127.0.0.3")
	a := startAgent(t, bin, state, "node-a", "127.0.0.2", port)
	b := startAgent(t, bin, state, "node-b", "127.0.0.3", port)
	for _, pod := range []string{"echo-v1-0", "echo-v2-0"} {
		echoServer(t, filepath.Join(state, "node-b", "demo", pod, "server", "echo"), pod)
	}
	socket := filepath.Join(state, "node-a", "demo", "client-0", "client", "meshless")

	var long net.Conn
	eventually(t, 20*time.Second, func() string {
		code, c, msg := call(socket, "echo.server.demo")
		if code != protocol.OK {
			return fmt.Sprintf("first call: %d %s", code, msg)
		}
		long = c
		return ""
	})
	defer long.Close()

	var calls, failures atomic.Int64
	var lastFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, c, msg := call(socket, "echo.server.demo")
				calls.Add(1)
				if code != protocol.OK {
					failures.Add(1)
					lastFailure.Store(fmt.Sprintf("code %d: %s", code, msg))
					continue
				}
				if err := echoOnce(c, "x"); err != nil {
					failures.Add(1)
					lastFailure.Store(err.Error())
				}
				c.Close()
			}
		}()
	}
	for _, ag := range []*agentProc{a, b, a, b} {
		time.Sleep(300 * time.Millisecond)
		ag.reload(t)
		if err := echoOnce(long, "still there after reloading "+ag.node); err != nil {
			t.Errorf("the open call broke on reloading %s: %v", ag.node, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d calls failed across the reloads; last: %v", n, calls.Load(), lastFailure.Load())
	}
	if calls.Load() < 20 {
		t.Errorf("only %d calls made during the reloads", calls.Load())
	}
	if n := strings.Count(b.logs.String(), "tunnel connection up"); n != 1 {
		t.Errorf("node-b accepted %d tunnel connections, want 1 (reloads must not reconnect)", n)
	}
	t.Logf("%d calls, 0 failures, across 4 reloads", calls.Load())
}

// startJSON runs the binary with a JSON config and waits for its admin endpoint.
func startJSON(t *testing.T, bin, name string, cfg map[string]any) *agentProc {
	t.Helper()
	a := &agentProc{node: name, admin: freeAddr(t), logs: new(syncBuffer)}
	cfg["admin"] = map[string]any{"listen": a.admin}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name+".json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(bin, "run", "--config", file)
	home := t.TempDir()
	a.cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home)
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		_ = a.cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, a.logs.String())
		}
	})
	eventually(t, 30*time.Second, func() string {
		if a.cmd.ProcessState != nil {
			return name + " exited"
		}
		if !adminUp(a.admin) {
			return "admin endpoint of " + name + " not up"
		}
		return ""
	})
	return a
}

// TestMeshlessLayer4Handlers runs the data plane from caddy-l4 servers written in JSON, with
// no mesh.agents.meshless: node-a serves client-0's socket with the meshless handler and a
// TCP port with mesh_tunnel; node-b serves the tunnel port with mesh_inbound. Calls cross
// from one process to the other.
func TestMeshlessLayer4Handlers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs processes")
	}
	bin := buildBinary(t)
	state, err := os.MkdirTemp("", "mll4")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	manifests, err := filepath.Abs("../examples/meshless-local/manifests")
	if err != nil {
		t.Fatal(err)
	}
	port := freePortOn(t, "127.0.0.2", "127.0.0.3")
	ingress := freeAddr(t)
	storage := filepath.Join(state, "storage")
	rootA, rootB := filepath.Join(state, "a"), filepath.Join(state, "b")
	clientSocket := filepath.Join(rootA, "demo", "client-0", "client", "meshless")
	if err := os.MkdirAll(filepath.Dir(clientSocket), 0o755); err != nil {
		t.Fatal(err)
	}
	settings := func(root string) map[string]any {
		return map[string]any{"root": root, "tunnel_port": port}
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	config := func(node string, servers map[string]any) map[string]any {
		return map[string]any{
			"storage": map[string]any{"module": "file_system", "root": storage},
			"apps": map[string]any{
				"pki": map[string]any{"certificate_authorities": map[string]any{"local": map[string]any{"install_trust": false}}},
				"mesh": map[string]any{
					"node":     node,
					"sources":  map[string]any{"file": map[string]any{"source": "file", "paths": []string{manifests}}},
					"identity": map[string]any{"ca": "internal"},
				},
				"layer4": map[string]any{"servers": servers},
			},
		}
	}
	route := func(h map[string]any) []any { return []any{map[string]any{"handle": []any{h}}} }
	startJSON(t, bin, "node-a", config("node-a", map[string]any{
		"client": map[string]any{"listen": []string{"unix/" + clientSocket},
			"routes": route(with(settings(rootA), "handler", "meshless"))},
		"ingress": map[string]any{"listen": []string{ingress},
			"routes": route(with(settings(rootA), "handler", "mesh_tunnel", "service", "echo.server.demo", "namespace", "demo", "meshlet", "client"))},
	}))
	startJSON(t, bin, "node-b", config("node-b", map[string]any{
		"tunnel": map[string]any{"listen": []string{net.JoinHostPort("127.0.0.3", strconv.Itoa(port))},
			"routes": route(with(settings(rootB), "handler", "mesh_inbound"))},
	}))
	for _, pod := range []string{"echo-v1-0", "echo-v2-0"} {
		dir := filepath.Join(rootB, "demo", pod, "server")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		echoServer(t, filepath.Join(dir, "echo"), pod)
	}

	// The client handshake, through the meshless handler and the tunnel.
	code, c, greeting := call(clientSocket, "echo.server.demo")
	if code != protocol.OK {
		t.Fatalf("call through the meshless handler: code %d: %s", code, greeting)
	}
	if !strings.HasPrefix(greeting, "hello from echo-v") {
		t.Errorf("greeting %q", greeting)
	}
	if err := echoOnce(c, "through layer4"); err != nil {
		t.Error(err)
	}
	c.Close()
	if code, _, msg := call(clientSocket, "nope.server.demo"); code != protocol.ServiceNotFound {
		t.Errorf("unknown service: code %d (%s), want 4", code, msg)
	}

	// Plain TCP into the mesh, through mesh_tunnel: no handshake, the greeting comes first.
	tc, err := net.DialTimeout("tcp", ingress, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	line := make([]byte, len("hello from echo-v1-0\n"))
	if _, err := io.ReadFull(tc, line); err != nil || !strings.HasPrefix(string(line), "hello from echo-v") {
		t.Fatalf("mesh_tunnel greeting %q: %v", line, err)
	}
	if err := echoOnce(tc, "over tcp"); err != nil {
		t.Error(err)
	}
}
