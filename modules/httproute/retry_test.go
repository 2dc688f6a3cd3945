package httproute

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// TestRetry sends requests to a backend that fails a number of times before it answers:
// a route that retries on that status gets the answer, one that does not gets the error.
func TestRetry(t *testing.T) {
	var calls atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := calls.Add(1); n%3 != 0 { // two failures, then a success
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer backend.Close()
	addr := strings.TrimPrefix(backend.URL, "http://")
	tests := []struct {
		name  string
		retry *table.Retry
		want  int
	}{
		{"status codes", &table.Retry{On: []string{"retriable-status-codes"}, StatusCodes: []int{500}, NumRetries: 2}, 200},
		{"5xx", &table.Retry{On: []string{"5xx"}, NumRetries: 2}, 200},
		{"too few retries", &table.Retry{On: []string{"5xx"}, NumRetries: 1}, 500},
		{"other codes", &table.Retry{On: []string{"retriable-status-codes"}, StatusCodes: []int{503}, NumRetries: 2}, 500},
		{"none", nil, 500},
	}
	c := testCompiler(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls.Store(0)
			tb := &table.Table{
				Clusters: map[string]*table.Cluster{"b": {Kind: table.ClusterStatic, Addresses: []string{addr}}},
				VirtualHosts: []*table.VirtualHost{{Name: "v", Domains: []string{"*"}, Routes: []*table.Route{{Name: "r",
					Forward: &table.Forward{Backends: []*table.Backend{{Cluster: "b", Weight: 1}}, Retry: tt.retry}}}}},
			}
			compiled, errs := c.compile(tb)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			st := &portState{logger: zap.NewNop()}
			st.router.swap(compiled)
			defer st.router.swap(nil)
			w := httptest.NewRecorder()
			st.ServeHTTP(w, httptest.NewRequest("GET", "http://x/", nil))
			if w.Code != tt.want {
				t.Errorf("status %d after %d calls, want %d", w.Code, calls.Load(), tt.want)
			}
		})
	}
}
