package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"golang.org/x/net/websocket"
)

// protocolManifests routes /ws to the Service ws and /h2c to the Service h2 (whose port
// has appProtocol kubernetes.io/h2c), through one Gateway.
func protocolManifests(t *testing.T, dir, wsAddr, h2Addr string) {
	t.Helper()
	writeManifests(t, dir, httpGatewayYAML, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: protocols, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /ws}}]
      backendRefs: [{name: ws, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /h2c}}]
      backendRefs: [{name: h2, port: 80}]
---
`, serviceYAML("ws", wsAddr, ""), serviceYAML("h2", h2Addr, "kubernetes.io/h2c"))
}

// TestGatewayProtocols proxies a WebSocket (the upgrade and then messages both ways) and
// HTTP/2 over cleartext to a backend whose Service port says kubernetes.io/h2c. The
// conformance suite's tests of both dial the Gateway's address themselves, which the
// harness's fake Gateway host names do not resolve to, so they are covered here.
func TestGatewayProtocols(t *testing.T) {
	ws := httptest.NewServer(websocket.Handler(func(c *websocket.Conn) {
		_, _ = io.Copy(c, c)
	}))
	defer ws.Close()
	h2 := httptest.NewServer(h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Proto, r.URL.Path)
	}), &http2.Server{}))
	defer h2.Close()
	dir := t.TempDir()
	protocolManifests(t, dir, strings.TrimPrefix(ws.URL, "http://"), strings.TrimPrefix(h2.URL, "http://"))
	in := newInstance(t)
	in.load(gatewayApps(dir))
	defer in.stop()
	addr := gatewayListener(t, in, "default/gw", 80)

	var body string
	eventually(t, 10*time.Second, func() string {
		resp, err := http.Get("http://" + addr + "/h2c/x")
		if err != nil {
			return err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if resp.StatusCode != 200 {
			return fmt.Sprintf("/h2c/x: %d %s", resp.StatusCode, b)
		}
		return ""
	})
	if body != "HTTP/2.0 /h2c/x" {
		t.Errorf("the h2c backend saw %q, want HTTP/2.0", body)
	}

	cfg, err := websocket.NewConfig("ws://"+addr+"/ws", "http://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("websocket through the gateway: %v", err)
	}
	defer conn.Close()
	for _, msg := range []string{"hello", "again"} {
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("echo of %q: %q, %v", msg, buf[:n], err)
		}
	}
}
