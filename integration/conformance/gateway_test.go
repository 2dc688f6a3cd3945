package conformance

import (
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
	"syscall"
	"testing"
	"time"
)

const (
	// gatewayClass is the GatewayClass the suite runs against.
	gatewayClass = "caddymesh"
	// controllerName is the controller the gateway agent serves.
	controllerName = "caddymesh.io/gateway"
	// gatewayDomain ends the hostname the agent puts in each Gateway's status.addresses:
	// <name>.<namespace>.gw.caddymesh.test. Nothing resolves it; the suite's dialer maps it.
	gatewayDomain = ".gw.caddymesh.test"
)

// meshGateway is the caddymesh binary running the gateway agent, as a separate process.
type meshGateway struct {
	admin   string // host:port
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error // set before done closes
	hc      *http.Client
}

// gatewayConfig is the Caddy JSON the binary runs: the kubernetes source and the gateway agent
// for the caddymesh class, each listener on its own ephemeral loopback port.
func gatewayConfig(admin, storage, kubeconfig string) map[string]any {
	return map[string]any{
		"admin":   map[string]any{"listen": admin},
		"storage": map[string]any{"module": "file_system", "root": storage},
		// The dialer polls the admin endpoint on every connection; its request log would
		// drown the agent's.
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{
			"level": "INFO", "writer": map[string]any{"output": "stderr"}, "exclude": []string{"admin.api"},
		}}},
		"apps": map[string]any{"mesh": map[string]any{
			"sources": map[string]any{"k8s": map[string]any{"source": "kubernetes", "kubeconfig": kubeconfig}},
			// No "classes": the suite creates classes of its own for our controller
			// (GatewayClassObservedGenerationBump), which the agent must serve too.
			"agents": map[string]any{"gateway": map[string]any{
				"listen_host":     "127.0.0.1",
				"ephemeral_ports": true,
				"addresses":       []string{"{gateway.name}.{gateway.namespace}" + gatewayDomain},
			}},
		}},
	}
}

// startGateway runs `bin run --config` in dir and waits for its admin endpoint.
func startGateway(ctx context.Context, bin, dir, kubeconfig string) (*meshGateway, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	admin := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	raw, err := json.MarshalIndent(gatewayConfig(admin, filepath.Join(dir, "storage"), kubeconfig), "", "  ")
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		return nil, err
	}
	g := &meshGateway{
		admin: admin, logPath: filepath.Join(dir, "caddymesh.log"), done: make(chan struct{}),
		hc: &http.Client{Timeout: 5 * time.Second},
	}
	log, err := os.Create(g.logPath)
	if err != nil {
		return nil, err
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		log.Close()
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting caddymesh: %w", err)
	}
	g.cmd = cmd
	go func() {
		g.exitErr = cmd.Wait()
		log.Close()
		close(g.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		if _, err := g.Listeners(ctx); err == nil {
			return g, nil
		}
		select {
		case <-g.done:
			return nil, fmt.Errorf("caddymesh exited before its admin endpoint came up: %v\n%s", g.exitErr, g.LogTail(60))
		case <-ctx.Done():
			g.Stop()
			return nil, fmt.Errorf("caddymesh's GET /mesh/gateways did not answer within 60s: %w\n%s", ctx.Err(), g.LogTail(60))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM, then SIGKILL after 10s, and waits for the process.
func (g *meshGateway) Stop() {
	_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
		<-g.done
	}
	g.hc.CloseIdleConnections()
}

// Exited reports whether the process has ended, and how.
func (g *meshGateway) Exited() (bool, error) {
	select {
	case <-g.done:
		return true, g.exitErr
	default:
		return false, nil
	}
}

// LogTail returns the last n lines of the process's output.
func (g *meshGateway) LogTail(n int) string {
	b, err := os.ReadFile(g.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// gatewayListener is one row of GET /mesh/gateways.
type gatewayListener struct {
	Gateway  string `json:"gateway"` // namespace/name
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
	Address  string `json:"address"` // host:port it is bound to
}

// Listeners returns the agent's listeners from its admin endpoint.
func (g *meshGateway) Listeners(ctx context.Context) ([]gatewayListener, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.admin+"/mesh/gateways", nil)
	if err != nil {
		return nil, err
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /mesh/gateways: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var out struct {
		Gateways []gatewayListener `json:"gateways"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decoding GET /mesh/gateways: %w", err)
	}
	return out.Gateways, nil
}

// splitGatewayHost parses <name>.<namespace>.gw.caddymesh.test. Namespaces hold no dots;
// names may.
func splitGatewayHost(host string) (ns, name string, ok bool) {
	rest, found := strings.CutSuffix(strings.TrimSuffix(strings.ToLower(host), "."), gatewayDomain)
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	return rest[i+1:], rest[:i], true
}

// listenerWait is how long a dial waits for a Gateway's listener to show up in the admin
// endpoint: status can be written a moment before the listener is bound. A port that never
// appears fails the dial, as a closed port would.
const listenerWait = 5 * time.Second

// DialContext is the suite's CustomDialContext: it sends <name>.<namespace>.gw.caddymesh.test
// :<port> to the address the agent bound that Gateway's listener on that port to. HTTPS goes
// through here too: the round tripper dials with this function and runs TLS over the
// connection itself, with the request's ServerName as SNI. Other hosts are dialled as they are.
func (g *meshGateway) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ns, name, ok := splitGatewayHost(host)
	if !ok {
		return d.DialContext(ctx, network, addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", portStr, err)
	}
	deadline := time.Now().Add(listenerWait)
	var last error
	for {
		ls, err := g.Listeners(ctx)
		if err == nil {
			last = fmt.Errorf("caddymesh has no listener for Gateway %s/%s port %d", ns, name, port)
			for _, l := range ls {
				if l.Gateway == ns+"/"+name && l.Port == port {
					return d.DialContext(ctx, network, l.Address)
				}
			}
		} else {
			last = err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("dialing %s: %w", addr, last)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dialing %s: %w (last: %v)", addr, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestSplitGatewayHost checks the parsing of the hostnames the agent reports.
func TestSplitGatewayHost(t *testing.T) {
	for _, tc := range []struct {
		host, ns, name string
		ok             bool
	}{
		{"same-namespace.gateway-conformance-infra.gw.caddymesh.test", "gateway-conformance-infra", "same-namespace", true},
		{"a.b.ns.gw.caddymesh.test.", "ns", "a.b", true},
		{"ns.gw.caddymesh.test", "", "", false},
		{"example.com", "", "", false},
	} {
		ns, name, ok := splitGatewayHost(tc.host)
		if ns != tc.ns || name != tc.name || ok != tc.ok {
			t.Errorf("%s: got %q %q %t, want %q %q %t", tc.host, ns, name, ok, tc.ns, tc.name, tc.ok)
		}
	}
}
