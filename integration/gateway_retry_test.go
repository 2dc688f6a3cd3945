package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGatewayRetry serves an HTTPRoute with a retry policy on codes 500 and 503 in front of
// a backend that fails each request's first attempts: a request that fails fewer times
// than the route's attempts is answered, one that fails more is not.
func TestGatewayRetry(t *testing.T) {
	var mu sync.Mutex
	attempts := map[string]int{}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		id := r.URL.Query().Get("id")
		var fail int
		fmt.Sscan(r.URL.Query().Get("fail"), &fail)
		if attempts[id] < fail {
			attempts[id]++
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "ok after %d", attempts[id])
	}))
	defer backend.Close()
	dir := t.TempDir()
	writeManifests(t, dir, httpGatewayYAML, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
    - retry: {codes: [500, 503], attempts: 3}
      backendRefs: [{name: web, port: 80}]
---
`, serviceYAML("web", strings.TrimPrefix(backend.URL, "http://"), ""))
	in := newInstance(t)
	in.load(gatewayApps(dir))
	defer in.stop()
	addr := gatewayListener(t, in, "default/gw", 80)
	tests := []struct {
		fail int
		want int
	}{{0, 200}, {2, 200}, {3, 200}, {4, 500}}
	for i, tt := range tests {
		var code int
		eventually(t, 10*time.Second, func() string {
			resp, err := http.Get(fmt.Sprintf("http://%s/?id=%d-%d&fail=%d", addr, i, time.Now().UnixNano(), tt.fail))
			if err != nil {
				return err.Error()
			}
			resp.Body.Close()
			code = resp.StatusCode
			if code == http.StatusNotFound {
				return "no route yet"
			}
			return ""
		})
		if code != tt.want {
			t.Errorf("a request failing %d times: %d, want %d", tt.fail, code, tt.want)
		}
	}
}
