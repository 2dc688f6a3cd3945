package httproute

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/caddyevents"
	"go.uber.org/zap"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/caddymesh/caddymesh/modules/collection"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// answer is a route whose direct response names it, so a test sees which route served.
func answer(name string, m table.Match) *table.Route {
	return &table.Route{Name: name, Match: m, DirectResponse: &table.DirectResponse{Status: 200, Body: name}}
}

func exact(p string) *table.PathMatch { return &table.PathMatch{Kind: table.PathExact, Value: p} }
func segment(p string) *table.PathMatch {
	return &table.PathMatch{Kind: table.PathSegmentPrefix, Value: p}
}
func prefix(p string) *table.PathMatch { return &table.PathMatch{Kind: table.PathPrefix, Value: p} }
func regex(p string) *table.PathMatch  { return &table.PathMatch{Kind: table.PathRegex, Value: p} }

// testCompiler compiles tables outside a Caddy config.
func testCompiler(t *testing.T) *compiler {
	t.Helper()
	cfg := new(caddy.Config)
	if err := json.Unmarshal([]byte(`{"admin": {"disabled": true}}`), cfg); err != nil {
		t.Fatal(err)
	}
	base, err := caddy.ProvisionContext(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(base)
	eps := NewEndpoints(collection.NewStatic[*discoveryv1.EndpointSlice](), nil)
	c := newCompiler(ctx, eps, zap.NewNop())
	t.Cleanup(func() { c.close(); eps.Stop(); cancel() })
	return c
}

// serveTable compiles tb and serves one request through it, as the Gateway's listeners do.
func serveTable(t *testing.T, c *compiler, tb *table.Table, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	compiled, errs := c.compile(tb)
	if len(errs) > 0 {
		t.Fatalf("compile: %v", errs)
	}
	st := &portState{logger: zap.NewNop()}
	st.router.swap(compiled)
	t.Cleanup(func() { st.router.swap(nil) })
	w := httptest.NewRecorder()
	st.ServeHTTP(w, req)
	return w
}

func TestRouterLookup(t *testing.T) {
	tb := &table.Table{Name: "t", VirtualHosts: []*table.VirtualHost{
		{Name: "exact", Domains: []string{"a.example.com"}, Routes: []*table.Route{
			answer("exact-foo", table.Match{Path: exact("/foo")}),
			answer("exact-foo-fold", table.Match{Path: &table.PathMatch{Kind: table.PathExact, Value: "/CaSe", IgnoreCase: true}}),
			answer("seg-foo-get", table.Match{Path: segment("/foo"), Method: "GET"}),
			answer("seg-foo-bar", table.Match{Path: segment("/foo/bar/")}),
			answer("seg-foo", table.Match{Path: segment("/foo")}),
			answer("plain-pre", table.Match{Path: prefix("/pre")}),
			answer("regex", table.Match{Path: regex("/r/[0-9]+")}),
			answer("header", table.Match{Path: segment("/h"), Headers: []table.StringMatch{{Name: "x-env", Kind: table.StringExact, Value: "prod"}}}),
			answer("header-re", table.Match{Path: segment("/h"), Headers: []table.StringMatch{{Name: "X-Env", Kind: table.StringRegex, Value: "st.*"}}}),
			answer("header-absent", table.Match{Path: segment("/h"), Headers: []table.StringMatch{{Name: "x-env", Kind: table.StringPresent, Invert: true}}}),
			answer("query", table.Match{Path: segment("/q"), Query: []table.StringMatch{{Name: "v", Kind: table.StringExact, Value: "1"}}}),
			answer("root", table.Match{Path: segment("/")}),
		}},
		{Name: "wild", Domains: []string{"*.example.com"}, Routes: []*table.Route{answer("wild", table.Match{})}},
		{Name: "deeper", Domains: []string{"*.b.example.com"}, Routes: []*table.Route{answer("deeper", table.Match{})}},
		{Name: "any", Domains: []string{"*"}, Routes: []*table.Route{answer("any", table.Match{Path: exact("/only")})}},
	}}
	c := testCompiler(t)
	tests := []struct {
		method, host, target string
		header               map[string]string
		want                 string // the route's name, or a status code
	}{
		{"GET", "a.example.com", "/foo", nil, "exact-foo"},
		{"GET", "A.Example.COM:8080", "/foo", nil, "exact-foo"},
		{"GET", "a.example.com.", "/foo", nil, "exact-foo"},
		{"GET", "a.example.com", "/case", nil, "exact-foo-fold"},
		{"GET", "a.example.com", "/foo/", nil, "seg-foo-get"},
		{"POST", "a.example.com", "/foo/x", nil, "seg-foo"},
		{"POST", "a.example.com", "/foo/bar", nil, "seg-foo-bar"},
		{"POST", "a.example.com", "/foo/bar/baz", nil, "seg-foo-bar"},
		{"POST", "a.example.com", "/foo/barbaz", nil, "seg-foo"},
		{"POST", "a.example.com", "/foobar", nil, "root"},
		{"GET", "a.example.com", "/prefix", nil, "plain-pre"},
		{"GET", "a.example.com", "/r/123", nil, "regex"},
		{"GET", "a.example.com", "/r/12a", nil, "root"},
		{"GET", "a.example.com", "/h", map[string]string{"X-Env": "prod"}, "header"},
		{"GET", "a.example.com", "/h", map[string]string{"X-Env": "staging"}, "header-re"},
		{"GET", "a.example.com", "/h", nil, "header-absent"},
		{"GET", "a.example.com", "/h", map[string]string{"X-Env": "dev"}, "root"},
		{"GET", "a.example.com", "/q?v=1&v=2", nil, "query"},
		{"GET", "a.example.com", "/q?v=2&v=1", nil, "root"},
		{"GET", "x.example.com", "/anything", nil, "wild"},
		{"GET", "x.y.example.com", "/", nil, "wild"},
		{"GET", "c.b.example.com", "/", nil, "deeper"},
		{"GET", "example.com", "/only", nil, "any"},
		{"GET", "example.com", "/other", nil, "404"},
		{"GET", "other.org", "/only", nil, "any"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.host+tt.target, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://placeholder"+tt.target, nil)
			req.Host = tt.host
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			w := serveTable(t, c, tb, req)
			got := strings.TrimSpace(w.Body.String())
			if w.Code != 200 {
				got = fmt.Sprint(w.Code)
			}
			if got != tt.want {
				t.Errorf("served by %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedirect(t *testing.T) {
	full := "/new"
	pre := "/to"
	tests := []struct {
		name   string
		r      table.Redirect
		path   *table.PathMatch
		target string
		want   string
		code   int
	}{
		{"host and status", table.Redirect{Host: "b.org", StatusCode: 301}, nil, "/x?y=1", "http://b.org:8080/x?y=1", 301},
		{"scheme drops the listener port", table.Redirect{Scheme: "https"}, nil, "/x", "https://a.org/x", 302},
		{"scheme and port", table.Redirect{Scheme: "https", Port: 8443}, nil, "/x", "https://a.org:8443/x", 302},
		{"port 80 is implied by http", table.Redirect{Port: 80}, nil, "/x", "http://a.org/x", 302},
		{"full path", table.Redirect{FullPath: &full, StatusCode: 308}, nil, "/x/y", "http://a.org:8080/new", 308},
		{"prefix", table.Redirect{PrefixReplacement: &pre, StatusCode: 303}, segment("/from"), "/from/x", "http://a.org:8080/to/x", 303},
		{"strip query", table.Redirect{StripQuery: true, StatusCode: 307}, nil, "/x?y=1", "http://a.org:8080/x", 307},
	}
	c := testCompiler(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := tt.r
			tb := &table.Table{VirtualHosts: []*table.VirtualHost{{Domains: []string{"*"}, Routes: []*table.Route{{Name: "r", Match: table.Match{Path: tt.path}, Redirect: &rd}}}}}
			req := httptest.NewRequest("GET", "http://a.org"+tt.target, nil)
			req.Host = "a.org"
			req = req.WithContext(context.WithValue(req.Context(), listenerPortKey{}, 8080))
			w := serveTable(t, c, tb, req)
			if w.Code != tt.code || w.Header().Get("Location") != tt.want {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Header().Get("Location"), tt.code, tt.want)
			}
		})
	}
}

func TestReplacePrefix(t *testing.T) {
	tests := []struct {
		path, prefix, repl string
		segment            bool
		want               string
	}{
		{"/prefix/one/two", "/prefix/one", "/one", true, "/one/two"},
		{"/prefix/one", "/prefix/one", "/one", true, "/one"},
		{"/strip-prefix/three", "/strip-prefix", "/", true, "/three"},
		{"/strip-prefix", "/strip-prefix", "/", true, "/"},
		{"/a/b", "/a", "/x/", true, "/x/b"},
		{"/api/v1", "/api", "/svc", false, "/svc/v1"},
		{"/api/v1", "/api/", "", false, "v1"},
	}
	for _, tt := range tests {
		if got := replacePrefix(tt.path, tt.prefix, tt.repl, tt.segment); got != tt.want {
			t.Errorf("replacePrefix(%q, %q, %q, %v) = %q, want %q", tt.path, tt.prefix, tt.repl, tt.segment, got, tt.want)
		}
	}
}

// TestForwardThroughReverseProxy sends requests through Caddy's reverse_proxy to real
// backends: weights, header filters, rewrites, invalid backends and timeouts.
func TestForwardThroughReverseProxy(t *testing.T) {
	backend := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("sleep") {
				select {
				case <-r.Context().Done():
				case <-make(chan struct{}):
				}
				return
			}
			w.Header().Set("X-Backend", name)
			fmt.Fprintf(w, "%s %s %s %s", name, r.Host, r.URL.Path, r.Header.Get("X-Added"))
		}))
		t.Cleanup(s.Close)
		return s
	}
	a, b := backend("a"), backend("b")
	full := "/rewritten"
	tb := &table.Table{
		Clusters: map[string]*table.Cluster{
			"a": {Kind: table.ClusterStatic, Addresses: []string{strings.TrimPrefix(a.URL, "http://")}},
			"b": {Kind: table.ClusterStatic, Addresses: []string{strings.TrimPrefix(b.URL, "http://")}},
		},
		VirtualHosts: []*table.VirtualHost{{Name: "v", Domains: []string{"*"}, Routes: []*table.Route{
			{Name: "filters", Match: table.Match{Path: segment("/filters")},
				RequestHeaders:  &table.HeaderOps{Set: []table.Header{{Name: "X-Added", Value: "{literal}"}}},
				ResponseHeaders: &table.HeaderOps{Add: []table.Header{{Name: "X-Resp", Value: "1"}}, Remove: []string{"X-Backend"}},
				Forward:         &table.Forward{Backends: []*table.Backend{{Cluster: "a", Weight: 1}}, Rewrite: &table.Rewrite{Host: "rewritten.host", FullPath: &full}}},
			{Name: "invalid", Match: table.Match{Path: segment("/invalid")},
				Forward: &table.Forward{Backends: []*table.Backend{{Invalid: "service not found", Weight: 1}}}},
			{Name: "timeout", Match: table.Match{Path: segment("/timeout")},
				Forward: &table.Forward{Backends: []*table.Backend{{Cluster: "a", Weight: 1}}, Timeout: 100e6}},
			{Name: "weights", Match: table.Match{Path: segment("/")},
				Forward: &table.Forward{Backends: []*table.Backend{{Cluster: "a", Weight: 3}, {Cluster: "b", Weight: 1}, {Cluster: "a", Weight: 0, Invalid: "never"}}}},
		}}},
	}
	c := testCompiler(t)
	compiled, errs := c.compile(tb)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	st := &portState{logger: zap.NewNop()}
	st.router.swap(compiled)
	defer st.router.swap(nil)
	srv := httptest.NewServer(st)
	defer srv.Close()

	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/filters/x")
	if want := "a rewritten.host /rewritten {literal}"; body != want || resp.Header.Get("X-Resp") != "1" || resp.Header.Get("X-Backend") != "" {
		t.Errorf("filters: %q %v, want %q with X-Resp and without X-Backend", body, resp.Header, want)
	}
	if resp, _ := get("/invalid"); resp.StatusCode != 500 {
		t.Errorf("invalid backend: %d, want 500", resp.StatusCode)
	}
	if resp, _ := get("/timeout?sleep=1"); resp.StatusCode != 504 {
		t.Errorf("timeout: %d, want 504", resp.StatusCode)
	}
	counts := map[string]int{}
	for i := 0; i < 400; i++ {
		_, body := get("/w")
		counts[strings.Fields(body)[0]]++
	}
	if counts["a"] < 240 || counts["a"] > 360 || counts["a"]+counts["b"] != 400 {
		t.Errorf("weights 3:1 gave %v", counts)
	}
}
