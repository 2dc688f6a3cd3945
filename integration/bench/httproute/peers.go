package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// meshCaddyfile is the mesh_router peer's config; see Caddyfile.
//
//go:embed Caddyfile
var meshCaddyfile []byte

// routePath is route i's path prefix; every peer matches it as a prefix.
func routePath(i int) string { return fmt.Sprintf("/svc-%d/", i) }

// target is the path every measured request asks for: under the last route.
func target(routes int) string { return routePath(routes-1) + "ok" }

// unrouted is a path no route matches.
const unrouted = "/none/ok"

// peerSpec is how to start one peer for a route count.
type peerSpec struct {
	name string
	bin  string
	args []string
	env  []string
	// admin is the address of Caddy's admin endpoint, for CPU profiles; "" when off.
	admin string
}

// writeMeshPeer writes the manifests and the Caddyfile of the mesh_router peer.
func writeMeshPeer(dir, caddymesh string, routes, port, backendPort int, admin string) (peerSpec, error) {
	manifests := filepath.Join(dir, "manifests")
	if err := os.MkdirAll(manifests, 0o755); err != nil {
		return peerSpec{}, err
	}
	if err := os.WriteFile(filepath.Join(manifests, "bench.yaml"), manifestsYAML(routes, backendPort), 0o644); err != nil {
		return peerSpec{}, err
	}
	caddyfile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(caddyfile, meshCaddyfile, 0o644); err != nil {
		return peerSpec{}, err
	}
	return peerSpec{
		name:  peerMesh,
		bin:   caddymesh,
		args:  []string{"run", "--adapter", "caddyfile", "--config", caddyfile},
		env:   append(caddyEnv(dir), "MANIFESTS="+manifests, "PORT="+strconv.Itoa(port), "CADDYMESH_ADMIN="+orNone(admin, "off")),
		admin: admin,
	}, nil
}

// caddyEnv keeps Caddy's data and config folders in dir.
func caddyEnv(dir string) []string {
	return []string{"XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "HOME=" + dir}
}

// manifestsYAML is the Gateway API objects of the mesh_router peer.
func manifestsYAML(routes, backendPort int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: caddymesh
spec:
  controllerName: caddymesh.io/gateway
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: bench
spec:
  gatewayClassName: caddymesh
  listeners:
    - name: http
      protocol: HTTP
      port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: backend
  namespace: bench
spec:
  ports:
    - name: http
      port: 80
      targetPort: %[1]d
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-0
  namespace: bench
  labels:
    kubernetes.io/service-name: backend
addressType: IPv4
ports:
  - name: http
    port: %[1]d
endpoints:
  - addresses: ["127.0.0.1"]
    conditions:
      ready: true
`, backendPort)
	for i := range routes {
		fmt.Fprintf(&b, `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-%d
  namespace: bench
spec:
  parentRefs:
    - name: gw
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: %s
      backendRefs:
        - name: backend
          port: 80
`, i, routePath(i))
	}
	return []byte(b.String())
}

// writeCaddyPeer writes the static-routes peer's JSON config.
func writeCaddyPeer(dir, caddymesh string, routes, port, backendPort int, admin string) (peerSpec, error) {
	backend := "127.0.0.1:" + strconv.Itoa(backendPort)
	list := make([]any, 0, routes+1)
	for i := range routes {
		list = append(list, map[string]any{
			"match":  []any{map[string]any{"path": []string{routePath(i) + "*"}}},
			"handle": []any{map[string]any{"handler": "reverse_proxy", "upstreams": []any{map[string]any{"dial": backend}}}},
		})
	}
	list = append(list, map[string]any{"handle": []any{map[string]any{"handler": "static_response", "status_code": 404}}})
	adm := map[string]any{"disabled": true, "config": map[string]any{"persist": false}}
	if admin != "" {
		adm = map[string]any{"listen": admin, "config": map[string]any{"persist": false}}
	}
	cfg := map[string]any{
		"admin":   adm,
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "ERROR"}}},
		"apps": map[string]any{"http": map[string]any{"servers": map[string]any{"bench": map[string]any{
			"listen":          []string{"127.0.0.1:" + strconv.Itoa(port)},
			"automatic_https": map[string]any{"disable": true},
			"routes":          list,
		}}}},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return peerSpec{}, err
	}
	file := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return peerSpec{}, err
	}
	return peerSpec{name: peerCaddy, bin: caddymesh, args: []string{"run", "--config", file}, env: caddyEnv(dir), admin: admin}, nil
}

// nginxGlobal is the part both nginx configs share: in the foreground, everything in dir,
// no access log.
func nginxGlobal(dir, workers string) string {
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // the workers write to dir, which root owns
	}
	return fmt.Sprintf(`%sworker_processes %s;
daemon off;
pid %[3]s/nginx.pid;
error_log %[3]s/error.log warn;
events { worker_connections 4096; }
`, user, workers, dir)
}

// nginxHTTP is the http block's common head.
func nginxHTTP(dir string) string {
	return fmt.Sprintf(`	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 120s;
	client_body_temp_path %[1]s/client_body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
`, dir)
}

// writeNginxPeer writes the nginx peer's config: a prefix location per route.
func writeNginxPeer(dir, bin, workers string, routes, port, backendPort, keepalive int) (peerSpec, error) {
	var b strings.Builder
	b.WriteString(nginxGlobal(dir, workers))
	b.WriteString("http {\n")
	b.WriteString(nginxHTTP(dir))
	fmt.Fprintf(&b, "\tupstream backend {\n\t\tserver 127.0.0.1:%d;\n\t\tkeepalive %d;\n\t}\n", backendPort, keepalive)
	fmt.Fprintf(&b, "\tserver {\n\t\tlisten 127.0.0.1:%d;\n\t\tproxy_http_version 1.1;\n\t\tproxy_set_header Connection \"\";\n", port)
	for i := range routes {
		fmt.Fprintf(&b, "\t\tlocation %s { proxy_pass http://backend; }\n", routePath(i))
	}
	b.WriteString("\t\tlocation / { return 404; }\n\t}\n}\n")
	return writeNginx(dir, bin, peerNginx, b.String())
}

// writeNginxBackend writes the backend's config: one worker answering "ok".
func writeNginxBackend(dir, bin string, port int) (peerSpec, error) {
	var b strings.Builder
	b.WriteString(nginxGlobal(dir, "1"))
	b.WriteString("http {\n")
	b.WriteString(nginxHTTP(dir))
	fmt.Fprintf(&b, "\tserver {\n\t\tlisten 127.0.0.1:%d backlog=4096;\n\t\tlocation / { return 200 \"ok\"; }\n\t}\n}\n", port)
	return writeNginx(dir, bin, "backend", b.String())
}

func writeNginx(dir, bin, name, conf string) (peerSpec, error) {
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return peerSpec{}, err
	}
	return peerSpec{name: name, bin: bin, args: []string{"-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", file}}, nil
}
