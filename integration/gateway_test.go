package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatewayClassYAML is the GatewayClass the gateway agent serves by default.
const gatewayClassYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: caddymesh}
spec: {controllerName: caddymesh.io/gateway}
---
`

// httpGatewayYAML is the GatewayClass and Gateway default/gw, with one HTTP listener.
const httpGatewayYAML = gatewayClassYAML + `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: caddymesh
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
`

// serviceYAML is Service default/<name> (port 80, named http, with appProtocol if not
// empty) and its EndpointSlice, with the one ready endpoint addr.
func serviceYAML(name, addr, appProtocol string) string {
	host, port, _ := net.SplitHostPort(addr)
	app := ""
	if appProtocol != "" {
		app = ", appProtocol: " + appProtocol
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: %[3]s%[4]s}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[1]s-1, namespace: default, labels: {kubernetes.io/service-name: %[1]s}}
addressType: IPv4
ports: [{name: http, port: %[3]s}]
endpoints: [{addresses: [%[2]s], conditions: {ready: true}}]
---
`, name, host, port, app)
}

// writeManifests writes the documents as dir/gateway.yaml.
func writeManifests(t *testing.T, dir string, docs ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "gateway.yaml"), []byte(strings.Join(docs, "")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gatewayManifests is Gateway default/gw with one HTTP listener and a route of one path
// prefix to one backend.
func gatewayManifests(t *testing.T, dir, backendAddr, path string) {
	t.Helper()
	writeManifests(t, dir, httpGatewayYAML, fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
    - matches: [{path: {type: PathPrefix, value: %s}}]
      backendRefs: [{name: web, port: 80}]
---
`, path), serviceYAML("web", backendAddr, ""))
}

// gatewayApps is the config of a file source over dir and the gateway agent on loopback
// with ephemeral ports.
func gatewayApps(dir string) map[string]any {
	return map[string]any{"mesh": map[string]any{
		"sources": map[string]any{"file": map[string]any{"source": "file", "paths": []string{dir}}},
		"agents":  map[string]any{"gateway": map[string]any{"listen_host": "127.0.0.1", "ephemeral_ports": true}},
	}}
}

// gatewayListener waits for the gateway agent's listener of gw:port and returns where it is
// bound.
func gatewayListener(t *testing.T, in *instance, gw string, port int) string {
	t.Helper()
	var addr string
	eventually(t, 20*time.Second, func() string {
		code, body := in.get("/mesh/gateways")
		if code != 200 {
			return fmt.Sprintf("GET /mesh/gateways: %d %s", code, body)
		}
		var out struct {
			Gateways []struct {
				Gateway, Address string
				Port             int
			}
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return err.Error()
		}
		for _, g := range out.Gateways {
			if g.Gateway == gw && g.Port == port {
				addr = g.Address
				return ""
			}
		}
		return fmt.Sprintf("no listener for %s:%d in %s", gw, port, body)
	})
	return addr
}

// TestGatewayReloadKeepsTraffic runs the gateway agent in Caddy, sends requests on
// keep-alive connections while the same config is loaded again and again, and checks that
// no request failed, no client connection was replaced and the listener stayed where it
// was; then that an edit of the route serves, without a reload.
func TestGatewayReloadKeepsTraffic(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend %s", r.URL.Path)
	}))
	defer backend.Close()
	dir := t.TempDir()
	gatewayManifests(t, dir, strings.TrimPrefix(backend.URL, "http://"), "/v1")

	in := newInstance(t)
	apps := gatewayApps(dir)
	in.load(apps)
	defer in.stop()
	addr := gatewayListener(t, in, "default/gw", 80)

	tr := startTraffic(t, "http://"+addr+"/v1/x", "backend /v1/x")
	time.Sleep(300 * time.Millisecond)
	for range 4 {
		in.load(apps) // the same config: Caddy reloads it all the same
		time.Sleep(300 * time.Millisecond)
	}
	if now := gatewayListener(t, in, "default/gw", 80); now != addr {
		t.Errorf("the listener moved from %s to %s across reloads", addr, now)
	}
	tr.check(t, true)

	// An edit of the route serves within a second, with no reload.
	gatewayManifests(t, dir, strings.TrimPrefix(backend.URL, "http://"), "/v2")
	start := time.Now()
	eventually(t, 5*time.Second, func() string {
		resp, err := http.Get("http://" + addr + "/v2/y")
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Sprintf("/v2/y: %d", resp.StatusCode)
		}
		return ""
	})
	if took := time.Since(start); took > time.Second {
		t.Errorf("the edit took %s to serve", took)
	}
	resp, err := http.Get("http://" + addr + "/v1/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/v1/x after the edit: %d, want 404", resp.StatusCode)
	}
}

// traffic is workers calling a URL on keep-alive connections, counting failures and new
// connections.
type traffic struct {
	fails, conns, calls atomic.Int64
	failMsg             atomic.Value
	stop                chan struct{}
	wg                  sync.WaitGroup
}

const trafficWorkers = 4

func startTraffic(t *testing.T, url, want string) *traffic {
	t.Helper()
	tr := &traffic{stop: make(chan struct{})}
	for range trafficWorkers {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 5 * time.Second}
			defer client.CloseIdleConnections()
			trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
				if !i.Reused {
					tr.conns.Add(1)
				}
			}}
			for {
				select {
				case <-tr.stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", url, nil)
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
				resp, err := client.Do(req)
				if err != nil {
					tr.fails.Add(1)
					tr.failMsg.Store(err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != want {
					tr.fails.Add(1)
					tr.failMsg.Store(fmt.Sprintf("%d %s", resp.StatusCode, body))
				}
				tr.calls.Add(1)
			}
		}()
	}
	return tr
}

// check stops the workers and fails the test if a call failed or, with keepConns, a
// connection was replaced.
func (tr *traffic) check(t *testing.T, keepConns bool) {
	t.Helper()
	close(tr.stop)
	tr.wg.Wait()
	t.Logf("%d calls, %d connections", tr.calls.Load(), tr.conns.Load())
	if tr.fails.Load() != 0 {
		t.Errorf("%d calls failed; the last: %v", tr.fails.Load(), tr.failMsg.Load())
	}
	if keepConns && tr.conns.Load() != trafficWorkers {
		t.Errorf("%d client connections for %d workers: connections were replaced", tr.conns.Load(), trafficWorkers)
	}
	if tr.calls.Load() < 100 {
		t.Errorf("only %d calls", tr.calls.Load())
	}
}

// TestMeshRouterReloadKeepsTraffic serves a Gateway's routes through mesh_router in a
// hand-written Caddy site and reloads the same config while clients call: the new
// handler has its table before it serves, so no call fails (without the synchronous first
// compile in Provision, calls right after each reload got 404).
func TestMeshRouterReloadKeepsTraffic(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend %s", r.URL.Path)
	}))
	defer backend.Close()
	dir := t.TempDir()
	gatewayManifests(t, dir, strings.TrimPrefix(backend.URL, "http://"), "/v1")
	site := freeAddr(t)
	in := newInstance(t)
	apps := map[string]any{
		"mesh": map[string]any{"sources": map[string]any{"file": map[string]any{"source": "file", "paths": []string{dir}}}},
		"http": map[string]any{"servers": map[string]any{"site": map[string]any{
			"listen": []string{site},
			"routes": []any{map[string]any{"handle": []any{map[string]any{"handler": "mesh_router", "gateway": "default/gw", "port": 80}}}},
		}}},
	}
	in.load(apps)
	defer in.stop()
	tr := startTraffic(t, "http://"+site+"/v1/x", "backend /v1/x")
	time.Sleep(300 * time.Millisecond)
	for range 4 {
		in.load(apps)
		time.Sleep(300 * time.Millisecond)
	}
	// Caddy's HTTP server closes its idle client connections on a reload (its own
	// behaviour, not the router's); the calls must all succeed nonetheless.
	tr.check(t, false)
}

// TestGatewayPortInUse gives a Gateway a listener port another socket holds: the listener
// is reported not Programmed (reason Invalid), and so is the Gateway, whose only port it
// is; moved to a free port, both become Programmed.
func TestGatewayPortInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, takenPort, _ := net.SplitHostPort(taken.Addr().String())
	dir := t.TempDir()
	gateway := func(port string) string {
		return gatewayClassYAML + `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: caddymesh
  listeners: [{name: http, protocol: HTTP, port: ` + port + `}]
`
	}
	writeManifests(t, dir, gateway(takenPort))
	in := newInstance(t)
	in.load(map[string]any{"mesh": map[string]any{
		"sources": map[string]any{"file": map[string]any{"source": "file", "paths": []string{dir}}},
		"agents":  map[string]any{"gateway": map[string]any{"listen_host": "127.0.0.1"}},
	}})
	defer in.stop()

	programmed := func(want string) {
		t.Helper()
		eventually(t, 10*time.Second, func() string {
			_, body := in.get("/mesh/status?kind=gateways&key=default/gw")
			var out struct {
				Sources map[string][]struct {
					Gateway struct {
						Conditions []struct{ Type, Status, Reason string }
						Listeners  []struct {
							Conditions []struct{ Type, Status, Reason string }
						}
					}
				}
			}
			if err := json.Unmarshal(body, &out); err != nil || len(out.Sources["file"]) != 1 {
				return fmt.Sprintf("no status yet: %s", body)
			}
			gw := out.Sources["file"][0].Gateway
			got := ""
			for _, c := range gw.Conditions {
				if c.Type == "Programmed" {
					got += "gateway " + c.Status + " " + c.Reason
				}
			}
			for _, l := range gw.Listeners {
				for _, c := range l.Conditions {
					if c.Type == "Programmed" {
						got += ", listener " + c.Status + " " + c.Reason
					}
				}
			}
			if got != want {
				return fmt.Sprintf("Programmed: %q, want %q", got, want)
			}
			return ""
		})
	}
	programmed("gateway False Invalid, listener False Invalid")

	free := strconv.Itoa(freePortOn(t, "127.0.0.1"))
	writeManifests(t, dir, gateway(free))
	programmed("gateway True Programmed, listener True Programmed")
	gatewayListener(t, in, "default/gw", mustAtoi(t, free))
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
