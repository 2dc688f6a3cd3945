package httproute

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// routerServer compiles tb, checks that the compile errors are exactly those containing
// wantErrs (in any order), and serves the table on a real socket the way a Gateway port
// does.
func routerServer(t *testing.T, c *compiler, tb *table.Table, wantErrs ...string) *httptest.Server {
	t.Helper()
	compiled, errs := c.compile(tb)
	if len(errs) != len(wantErrs) {
		t.Fatalf("compile errors %v, want %d containing %q", errs, len(wantErrs), wantErrs)
	}
	for _, want := range wantErrs {
		found := false
		for _, err := range errs {
			found = found || strings.Contains(err.Error(), want)
		}
		if !found {
			t.Errorf("no compile error contains %q: %v", want, errs)
		}
	}
	st := &portState{logger: zap.NewNop()}
	st.router.swap(compiled)
	t.Cleanup(func() { st.router.swap(nil) })
	srv := httptest.NewServer(st)
	t.Cleanup(srv.Close)
	return srv
}

// send makes one request and returns the response with its body read.
func send(t *testing.T, srv *httptest.Server, method, host, path string, header map[string]string, body []byte) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// echoed is what echoBackend saw of a request.
type echoed struct {
	Backend string
	Method  string
	Host    string
	Path    string
	Header  http.Header
	Body    string
}

// echoBackend answers every request with what it saw, as JSON, and a response header the
// routes can filter.
func echoBackend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Backend-Secret", "s")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{Backend: name, Method: r.Method, Host: r.Host, Path: r.URL.Path, Header: r.Header, Body: string(body)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func decodeEchoed(t *testing.T, body string) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not an echo: %v: %q", err, body)
	}
	return e
}

func clusterOf(srv *httptest.Server) *table.Cluster {
	return &table.Cluster{Kind: table.ClusterStatic, Addresses: []string{srv.Listener.Addr().String()}}
}

func forwardTo(cluster string) *table.Forward {
	return &table.Forward{Backends: []*table.Backend{{Cluster: cluster, Weight: 1}}}
}

// mirrorSink counts the copies a mirror cluster receives, by path.
type mirrorSink struct {
	srv *httptest.Server

	mu     sync.Mutex // guards the fields below
	counts map[string]int
	bodies map[string][]string
	hosts  map[string]string
	header map[string]string // X-Test by path
}

// newMirrorSink answers every copy 503 after recording it; hold, if not nil, blocks each
// answer until it is closed.
func newMirrorSink(t *testing.T, hold chan struct{}) *mirrorSink {
	t.Helper()
	m := &mirrorSink{counts: map[string]int{}, bodies: map[string][]string{}, hosts: map[string]string{}, header: map[string]string{}}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m.mu.Lock()
		m.counts[r.URL.Path]++
		m.bodies[r.URL.Path] = append(m.bodies[r.URL.Path], string(body))
		m.hosts[r.URL.Path] = r.Host
		m.header[r.URL.Path] = r.Header.Get("X-Test")
		m.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "mirror")
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *mirrorSink) count(path string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[path]
}

// waitMirrors waits until no mirrored copy is in flight: a copy is counted in flight before
// the real request goes on, so once a response is in and this returns, every copy of it has
// reached the sink (or was never sent).
func waitMirrors(t *testing.T, c *compiler) {
	t.Helper()
	waitEndpoints(t, func() string {
		if n := c.mirrors.inFlight.Load(); n != 0 {
			return fmt.Sprintf("%d mirrored copies still in flight", n)
		}
		return ""
	})
}

// TestMirrors sends traffic through routes with request mirrors to real backends.
func TestMirrors(t *testing.T) {
	primary := echoBackend(t, "primary")
	sink := newMirrorSink(t, nil)
	hold := make(chan struct{})
	slow := newMirrorSink(t, hold)
	t.Cleanup(func() { close(hold) }) // before the slow sink closes: its handler returns
	quarter := &table.Fraction{Numerator: 25, Denominator: 100}
	route := func(name string, mirrors ...*table.Mirror) *table.Route {
		return &table.Route{Name: name, Match: table.Match{Path: segment("/" + name)}, Mirrors: mirrors, Forward: forwardTo("primary")}
	}
	tb := &table.Table{
		Clusters: map[string]*table.Cluster{"primary": clusterOf(primary), "sink": clusterOf(sink.srv), "slow": clusterOf(slow.srv)},
		VirtualHosts: []*table.VirtualHost{{Name: "v", Domains: []string{"*"}, Routes: []*table.Route{
			route("all", &table.Mirror{Cluster: "sink"}),
			route("quarter", &table.Mirror{Cluster: "sink", Fraction: quarter}),
			route("none", &table.Mirror{Cluster: "sink", Fraction: &table.Fraction{Numerator: 0, Denominator: 100}}),
			route("body", &table.Mirror{Cluster: "sink"}),
			route("slow", &table.Mirror{Cluster: "slow"}),
		}}},
	}
	c := testCompiler(t)
	srv := routerServer(t, c, tb)

	t.Run("every request with no fraction, headers and host copied", func(t *testing.T) {
		for i := range 20 {
			resp, body := send(t, srv, "GET", "shop.example", fmt.Sprintf("/all?i=%d", i), map[string]string{"X-Test": "t"}, nil)
			if e := decodeEchoed(t, body); resp.StatusCode != 200 || e.Backend != "primary" || e.Path != "/all" {
				t.Fatalf("the real response: %d %q", resp.StatusCode, body)
			}
		}
		waitMirrors(t, c)
		if n := sink.count("/all"); n != 20 {
			t.Errorf("%d copies of 20 requests", n)
		}
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if sink.hosts["/all"] != "shop.example" || sink.header["/all"] != "t" {
			t.Errorf("copy had host %q and X-Test %q", sink.hosts["/all"], sink.header["/all"])
		}
	})

	t.Run("a fraction of requests", func(t *testing.T) {
		const n = 400
		for range n {
			if resp, _ := send(t, srv, "GET", "", "/quarter", nil, nil); resp.StatusCode != 200 {
				t.Fatalf("the real response: %d", resp.StatusCode)
			}
		}
		for range 100 {
			if resp, _ := send(t, srv, "GET", "", "/none", nil, nil); resp.StatusCode != 200 {
				t.Fatalf("the real response: %d", resp.StatusCode)
			}
		}
		waitMirrors(t, c)
		// 25% of 400 is 100, with a standard deviation of about 8.7.
		if got := sink.count("/quarter"); got < 60 || got > 140 {
			t.Errorf("%d of %d requests mirrored at 25%%", got, n)
		}
		if got := sink.count("/none"); got != 0 {
			t.Errorf("%d requests mirrored at 0%%", got)
		}
	})

	t.Run("bodies", func(t *testing.T) {
		tests := []struct {
			name     string
			size     int
			mirrored bool
		}{
			{"a small body is copied", 1000, true},
			{"a body at the limit is copied", mirrorBodyLimit, true},
			{"a body over the limit is not mirrored", mirrorBodyLimit + 1, false},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				path := fmt.Sprintf("/body/%d", i)
				body := bytes.Repeat([]byte{'a' + byte(i)}, tt.size)
				resp, got := send(t, srv, "POST", "", path, nil, body)
				if e := decodeEchoed(t, got); resp.StatusCode != 200 || e.Body != string(body) {
					t.Fatalf("the real backend got %d bytes (status %d), want %d", len(e.Body), resp.StatusCode, len(body))
				}
				waitMirrors(t, c)
				sink.mu.Lock()
				copies := sink.bodies[path]
				sink.mu.Unlock()
				switch {
				case !tt.mirrored && len(copies) != 0:
					t.Errorf("%d copies of a body over the limit", len(copies))
				case tt.mirrored && (len(copies) != 1 || copies[0] != string(body)):
					t.Errorf("copies %d, first of %d bytes; want one of %d", len(copies), len(firstOf(copies)), len(body))
				}
			})
		}
	})

	t.Run("a slow mirror does not hold the real response", func(t *testing.T) {
		start := time.Now()
		resp, body := send(t, srv, "GET", "", "/slow", nil, nil)
		if e := decodeEchoed(t, body); resp.StatusCode != 200 || e.Backend != "primary" {
			t.Fatalf("the real response: %d %q", resp.StatusCode, body)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("the real response took %s", took)
		}
		waitEndpoints(t, func() string {
			if slow.count("/slow") != 1 {
				return "the slow mirror got no copy"
			}
			return ""
		})
	})
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// TestCORS checks CORS policies: allowed, wildcard-subdomain and disallowed origins,
// preflight answers, credentials, and the headers on a proxied response.
func TestCORS(t *testing.T) {
	backend := echoBackend(t, "b")
	policy := &table.CORS{
		AllowOrigins:     []string{"https://a.example", "https://*.b.example"},
		AllowMethods:     []string{"GET", "POST"},
		AllowHeaders:     []string{"X-Custom", "Content-Type"},
		ExposeHeaders:    []string{"X-Exp"},
		AllowCredentials: true,
		MaxAge:           600,
	}
	direct := func(name string, p *table.CORS) *table.Route {
		return &table.Route{Name: name, Match: table.Match{Path: segment("/" + name)}, CORS: p, DirectResponse: &table.DirectResponse{Status: 200, Body: name}}
	}
	tb := &table.Table{
		Clusters: map[string]*table.Cluster{"b": clusterOf(backend)},
		VirtualHosts: []*table.VirtualHost{{Name: "v", Domains: []string{"*"}, Routes: []*table.Route{
			direct("cors", policy),
			direct("any", &table.CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET"}}),
			direct("any-cred", &table.CORS{AllowOrigins: []string{"*"}, AllowCredentials: true}),
			{Name: "proxied", Match: table.Match{Path: segment("/proxied")}, CORS: &table.CORS{AllowOrigins: []string{"https://a.example"}, ExposeHeaders: []string{"X-Backend-Secret"}}, Forward: forwardTo("b")},
		}}},
	}
	srv := routerServer(t, testCompiler(t), tb)

	const (
		acao = "Access-Control-Allow-Origin"
		acac = "Access-Control-Allow-Credentials"
		acam = "Access-Control-Allow-Methods"
		acah = "Access-Control-Allow-Headers"
		acma = "Access-Control-Max-Age"
		aceh = "Access-Control-Expose-Headers"
	)
	none := map[string]string{acao: "", acac: "", acam: "", acah: "", acma: "", aceh: ""}
	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		code   int
		body   string // "" for none; "*echo*" for the echo backend
		want   map[string]string
	}{
		{"allowed origin", "GET", "/cors", map[string]string{"Origin": "https://a.example"}, 200, "cors",
			map[string]string{acao: "https://a.example", acac: "true", aceh: "X-Exp", "Vary": "Origin", acam: "", acma: ""}},
		{"origin matched without regard to case", "GET", "/cors", map[string]string{"Origin": "https://A.Example"}, 200, "cors",
			map[string]string{acao: "https://A.Example"}},
		{"wildcard subdomain", "GET", "/cors", map[string]string{"Origin": "https://x.b.example"}, 200, "cors",
			map[string]string{acao: "https://x.b.example", acac: "true"}},
		{"wildcard deeper subdomain", "GET", "/cors", map[string]string{"Origin": "https://y.x.b.example"}, 200, "cors",
			map[string]string{acao: "https://y.x.b.example"}},
		{"wildcard does not match the bare domain", "GET", "/cors", map[string]string{"Origin": "https://b.example"}, 200, "cors", none},
		{"wildcard does not match another scheme", "GET", "/cors", map[string]string{"Origin": "http://x.b.example"}, 200, "cors", none},
		{"wildcard does not match another port", "GET", "/cors", map[string]string{"Origin": "https://x.b.example:8443"}, 200, "cors", none},
		{"wildcard does not match a lookalike", "GET", "/cors", map[string]string{"Origin": "https://xb.example"}, 200, "cors", none},
		{"disallowed origin gets no headers", "GET", "/cors", map[string]string{"Origin": "https://evil.example"}, 200, "cors", none},
		{"no origin, no headers", "GET", "/cors", nil, 200, "cors", none},
		{"preflight", "OPTIONS", "/cors", map[string]string{"Origin": "https://x.b.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "X-Custom"}, 204, "",
			map[string]string{acao: "https://x.b.example", acac: "true", acam: "GET, POST", acah: "X-Custom, Content-Type", acma: "600"}},
		// Answered without CORS headers, and never forwarded (HTTPRouteCORS in the
		// conformance suite checks that the backend does not see it).
		{"preflight from a disallowed origin is refused here", "OPTIONS", "/cors", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, 204, "", none},
		{"OPTIONS without a requested method is no preflight", "OPTIONS", "/cors", map[string]string{"Origin": "https://a.example"}, 200, "cors",
			map[string]string{acao: "https://a.example", acam: "", acma: ""}},
		{"any origin", "GET", "/any", map[string]string{"Origin": "https://whatever.example"}, 200, "any",
			map[string]string{acao: "*", acac: ""}},
		{"any origin preflight without max age", "OPTIONS", "/any", map[string]string{"Origin": "https://whatever.example", "Access-Control-Request-Method": "GET"}, 204, "",
			map[string]string{acao: "*", acam: "GET", acah: "", acma: ""}},
		{"any origin with credentials echoes the origin", "GET", "/any-cred", map[string]string{"Origin": "https://whatever.example"}, 200, "any-cred",
			map[string]string{acao: "https://whatever.example", acac: "true", "Vary": "Origin"}},
		{"proxied response", "GET", "/proxied", map[string]string{"Origin": "https://a.example"}, 200, "*echo*",
			map[string]string{acao: "https://a.example", aceh: "X-Backend-Secret", "X-Backend-Secret": "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := send(t, srv, tt.method, "", tt.path, tt.header, nil)
			if resp.StatusCode != tt.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.code)
			}
			switch tt.body {
			case "*echo*":
				if e := decodeEchoed(t, body); e.Path != tt.path {
					t.Errorf("backend saw %q", e.Path)
				}
			default:
				if body != tt.body {
					t.Errorf("body %q, want %q", body, tt.body)
				}
			}
			for k, want := range tt.want {
				if got := strings.Join(resp.Header.Values(k), ","); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestDirectResponse checks fixed answers: status, body and its headers.
func TestDirectResponse(t *testing.T) {
	tests := []struct {
		status int
		body   string
	}{
		{200, "hello"},
		{503, "down for maintenance\n"},
		{204, ""},
		{404, ""},
		{418, "{not a placeholder}"},
	}
	var routes []*table.Route
	for i, tt := range tests {
		routes = append(routes, &table.Route{Name: fmt.Sprint(i), Match: table.Match{Path: exact(fmt.Sprintf("/%d", i))},
			DirectResponse: &table.DirectResponse{Status: tt.status, Body: tt.body}})
	}
	srv := routerServer(t, testCompiler(t), &table.Table{VirtualHosts: []*table.VirtualHost{{Name: "v", Domains: []string{"*"}, Routes: routes}}})
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d %q", tt.status, tt.body), func(t *testing.T) {
			resp, body := send(t, srv, "GET", "", fmt.Sprintf("/%d", i), nil, nil)
			if resp.StatusCode != tt.status || body != tt.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			wantType := ""
			if tt.body != "" {
				wantType = "text/plain; charset=utf-8"
				if resp.ContentLength != int64(len(tt.body)) {
					t.Errorf("Content-Length %d, want %d", resp.ContentLength, len(tt.body))
				}
			}
			if got := resp.Header.Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type %q, want %q", got, wantType)
			}
		})
	}
}

// TestCompileFailures serves tables with routes that cannot be compiled: each answers 500
// and is reported, while the other routes and virtual hosts serve. A route whose path regex
// is invalid matches every path it might have matched, so it also stops requests from
// falling through to later routes.
func TestCompileFailures(t *testing.T) {
	backend := echoBackend(t, "b")
	ok := func(name string, m table.Match) *table.Route {
		return &table.Route{Name: name, Match: m, DirectResponse: &table.DirectResponse{Status: 200, Body: name}}
	}
	tb := &table.Table{
		Clusters: map[string]*table.Cluster{"b": clusterOf(backend)},
		VirtualHosts: []*table.VirtualHost{
			{Name: "regex", Domains: []string{"regex.example"}, Routes: []*table.Route{
				ok("ok", table.Match{Path: exact("/ok")}),
				ok("bad-regex", table.Match{Path: regex("/api/(")}),
				ok("after-regex", table.Match{Path: segment("/")}),
			}},
			{Name: "kind", Domains: []string{"kind.example"}, Routes: []*table.Route{
				ok("ok", table.Match{Path: exact("/ok")}),
				ok("bad-kind", table.Match{Path: &table.PathMatch{Kind: "glob", Value: "/g*"}}),
				ok("after-kind", table.Match{Path: segment("/")}),
			}},
			{Name: "others", Domains: []string{"others.example"}, Routes: []*table.Route{
				ok("bad-header", table.Match{Path: segment("/h"), Headers: []table.StringMatch{{Name: "X-Env", Kind: table.StringRegex, Value: "("}}}),
				ok("bad-query", table.Match{Path: segment("/q"), Query: []table.StringMatch{{Name: "v", Kind: "nope"}}}),
				{Name: "no-action", Match: table.Match{Path: segment("/none")}},
				{Name: "two-actions", Match: table.Match{Path: segment("/two")}, DirectResponse: &table.DirectResponse{Status: 200}, Redirect: &table.Redirect{Host: "x"}},
				{Name: "missing-cluster", Match: table.Match{Path: segment("/missing")}, Forward: forwardTo("nope")},
				{Name: "missing-mirror", Match: table.Match{Path: segment("/mirror")}, Forward: forwardTo("b"), Mirrors: []*table.Mirror{{Cluster: "nope"}}},
				{Name: "bad-rewrite", Match: table.Match{Path: segment("/rw")}, Forward: &table.Forward{
					Backends: []*table.Backend{{Cluster: "b", Weight: 1}}, Rewrite: &table.Rewrite{Regex: &table.RegexRewrite{Pattern: "(", Substitution: "x"}}}},
				{Name: "proxied", Match: table.Match{Path: segment("/proxied")}, Forward: forwardTo("b")},
				ok("catch-all", table.Match{Path: segment("/")}),
			}},
			{Name: "any", Domains: []string{"*"}, Routes: []*table.Route{ok("any", table.Match{})}},
		},
	}
	srv := routerServer(t, testCompiler(t), tb,
		`route "bad-regex": path regex`, `route "bad-header": header match`, `route "bad-query": query match`,
		`route "bad-kind": unknown path match kind`, `route "no-action": a route needs exactly one action`,
		`route "two-actions": a route needs exactly one action`, `route "missing-cluster": cluster "nope" is not in the table`,
		`route "missing-mirror": mirror: cluster "nope"`, `route "bad-rewrite": rewrite`)
	tests := []struct {
		host, path string
		header     map[string]string
		code       int
		body       string // for 200s; "*echo*" for the backend
	}{
		{"regex.example", "/ok", nil, 200, "ok"},
		{"regex.example", "/api/x", nil, 500, ""},
		{"regex.example", "/other", nil, 500, ""}, // the broken regex might have matched it
		{"kind.example", "/ok", nil, 200, "ok"},
		{"kind.example", "/glob", nil, 500, ""}, // an unknown path kind matches every path too
		{"others.example", "/h", map[string]string{"X-Env": "prod"}, 500, ""},
		{"others.example", "/h", nil, 500, ""}, // header conditions are not known: fail closed
		{"others.example", "/hx", nil, 200, "catch-all"},
		{"others.example", "/q?v=1", nil, 500, ""},
		{"others.example", "/none", nil, 500, ""},
		{"others.example", "/two", nil, 500, ""},
		{"others.example", "/missing", nil, 500, ""},
		{"others.example", "/mirror", nil, 500, ""},
		{"others.example", "/rw/x", nil, 500, ""},
		{"others.example", "/proxied/x", nil, 200, "*echo*"},
		{"others.example", "/fine", nil, 200, "catch-all"},
		{"any.example", "/anything", nil, 200, "any"},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			resp, body := send(t, srv, "GET", tt.host, tt.path, tt.header, nil)
			switch {
			case resp.StatusCode != tt.code:
				t.Errorf("got %d %q, want %d", resp.StatusCode, body, tt.code)
			case tt.body == "*echo*":
				if e := decodeEchoed(t, body); e.Path != "/proxied/x" {
					t.Errorf("the backend saw %q", e.Path)
				}
			case tt.code == 200 && body != tt.body:
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

// TestExtensions runs ExtensionRef handlers, Caddy handlers given as JSON, before the
// route's action; a handler that cannot be loaded makes its route answer 500 alone.
func TestExtensions(t *testing.T) {
	backend := echoBackend(t, "b")
	ext := func(name string, action *table.Forward, handlers ...string) *table.Route {
		r := &table.Route{Name: name, Match: table.Match{Path: segment("/" + name)}, Forward: action}
		if action == nil {
			r.DirectResponse = &table.DirectResponse{Status: 200, Body: name}
		}
		for _, h := range handlers {
			r.Extensions = append(r.Extensions, table.RawHandler(h))
		}
		return r
	}
	tb := &table.Table{
		Clusters: map[string]*table.Cluster{"b": clusterOf(backend)},
		VirtualHosts: []*table.VirtualHost{{Name: "v", Domains: []string{"*"}, Routes: []*table.Route{
			ext("response-header", nil, `{"handler":"headers","response":{"set":{"X-Ext":["1"]}}}`),
			ext("placeholder", nil, `{"handler":"headers","response":{"set":{"X-Route":["{http.vars.mesh_route}"]}}}`),
			ext("in-order", nil,
				`{"handler":"headers","response":{"set":{"X-Order":["first"]}}}`,
				`{"handler":"headers","response":{"add":{"X-Order":["second"]}}}`),
			ext("request-header", forwardTo("b"), `{"handler":"headers","request":{"set":{"X-From-Ext":["yes"]}}}`),
			ext("answers", nil, `{"handler":"static_response","status_code":418,"body":"teapot"}`),
			ext("unknown", nil, `{"handler":"no_such_handler"}`),
			ext("nameless", nil, `{"response":{}}`),
			ext("not-json", nil, `{"handler":`),
			ext("bad-config", nil, `{"handler":"headers","response":{"set":"not a map"}}`),
			ext("plain", nil),
		}}},
	}
	srv := routerServer(t, testCompiler(t), tb,
		`route "unknown": extension 0`, `route "nameless": extension 0: a handler needs a "handler" name`,
		`route "not-json": extension 0: decoding handler`, `route "bad-config": extension 0`)
	tests := []struct {
		path   string
		code   int
		body   string // "*echo*" for the backend
		header map[string]string
	}{
		{"/response-header", 200, "response-header", map[string]string{"X-Ext": "1"}},
		{"/placeholder", 200, "placeholder", map[string]string{"X-Route": "placeholder"}},
		{"/in-order", 200, "in-order", map[string]string{"X-Order": "first,second"}},
		{"/request-header", 200, "*echo*", nil},
		{"/answers", 418, "teapot", nil},
		{"/unknown", 500, "", nil},
		{"/nameless", 500, "", nil},
		{"/not-json", 500, "", nil},
		{"/bad-config", 500, "", nil},
		{"/plain", 200, "plain", map[string]string{"X-Ext": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := send(t, srv, "GET", "", tt.path, nil, nil)
			if resp.StatusCode != tt.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.code)
			}
			switch {
			case tt.body == "*echo*":
				if e := decodeEchoed(t, body); e.Header.Get("X-From-Ext") != "yes" {
					t.Errorf("the backend did not see the extension's header: %v", e.Header)
				}
			case tt.code != 500 && body != tt.body:
				t.Errorf("body %q, want %q", body, tt.body)
			}
			for k, want := range tt.header {
				if got := strings.Join(resp.Header.Values(k), ","); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestHeaderFilters checks header operations at every level (virtual host, route, backend)
// on requests and responses: values with braces stay literal, removals apply, and the
// levels apply in the order the table documents.
func TestHeaderFilters(t *testing.T) {
	backend := echoBackend(t, "b")
	ops := func(set, add [][2]string, remove ...string) *table.HeaderOps {
		out := &table.HeaderOps{Remove: remove}
		for _, h := range set {
			out.Set = append(out.Set, table.Header{Name: h[0], Value: h[1]})
		}
		for _, h := range add {
			out.Add = append(out.Add, table.Header{Name: h[0], Value: h[1]})
		}
		return out
	}
	tb := &table.Table{
		Clusters: map[string]*table.Cluster{"b": clusterOf(backend)},
		VirtualHosts: []*table.VirtualHost{
			{
				Name: "vh", Domains: []string{"vh.example"},
				RequestHeaders:  ops([][2]string{{"X-Vh", "{http.request.method}"}, {"X-Both", "vh"}}, nil, "X-Drop-Vh"),
				ResponseHeaders: ops([][2]string{{"X-Vh-Resp", "{upstream}"}, {"X-Both-Resp", "vh"}}, nil),
				Routes: []*table.Route{
					{
						Name: "forward", Match: table.Match{Path: segment("/forward")},
						RequestHeaders: ops(
							[][2]string{{"X-Lit", "{http.request.uri}"}, {"X-Both", "route"}, {"X-Escaped", `\{not}`}},
							[][2]string{{"X-Add", "{env.HOME}"}, {"X-Add", "}{"}}, "X-Drop"),
						ResponseHeaders: ops([][2]string{{"X-Resp", "{http.request.host}"}, {"X-Both-Resp", "route"}}, nil, "X-Backend-Secret"),
						Forward: &table.Forward{Backends: []*table.Backend{{
							Cluster: "b", Weight: 1,
							RequestHeaders:  ops([][2]string{{"X-Be", "{system.hostname}"}}, nil),
							ResponseHeaders: ops(nil, [][2]string{{"X-Be-Resp", "{time.now}"}}),
						}}},
					},
					{Name: "direct", Match: table.Match{Path: segment("/direct")}, DirectResponse: &table.DirectResponse{Status: 200, Body: "direct"}},
				},
			},
			{Name: "plain", Domains: []string{"*"}, Routes: []*table.Route{{Name: "plain", Match: table.Match{}, Forward: forwardTo("b")}}},
		},
	}
	srv := routerServer(t, testCompiler(t), tb)
	forward := func(t *testing.T) (*http.Response, echoed) {
		resp, body := send(t, srv, "GET", "vh.example", "/forward/x?q=1", map[string]string{"X-Drop": "1", "X-Drop-Vh": "1", "X-Keep": "1"}, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		return resp, decodeEchoed(t, body)
	}
	header := func(h http.Header, name string) string { return strings.Join(h.Values(name), ",") }

	t.Run("request values stay literal", func(t *testing.T) {
		_, e := forward(t)
		want := map[string]string{
			"X-Lit": "{http.request.uri}", "X-Escaped": `\{not}`, "X-Add": "{env.HOME},}{",
			"X-Be": "{system.hostname}", "X-Vh": "{http.request.method}",
			"X-Drop": "", "X-Drop-Vh": "", "X-Keep": "1",
		}
		for k, v := range want {
			if got := header(e.Header, k); got != v {
				t.Errorf("request %s: %q, want %q", k, got, v)
			}
		}
	})
	t.Run("response values stay literal", func(t *testing.T) {
		resp, _ := forward(t)
		want := map[string]string{
			"X-Resp": "{http.request.host}", "X-Be-Resp": "{time.now}", "X-Vh-Resp": "{upstream}", "X-Backend-Secret": "",
		}
		for k, v := range want {
			if got := header(resp.Header, k); got != v {
				t.Errorf("response %s: %q, want %q", k, got, v)
			}
		}
	})
	t.Run("virtual host response operations on a direct response", func(t *testing.T) {
		resp, body := send(t, srv, "GET", "vh.example", "/direct", nil, nil)
		if body != "direct" || header(resp.Header, "X-Vh-Resp") != "{upstream}" || header(resp.Header, "X-Both-Resp") != "vh" {
			t.Errorf("got %q with %v", body, resp.Header)
		}
	})
	t.Run("another virtual host gets none of them", func(t *testing.T) {
		resp, body := send(t, srv, "GET", "other.example", "/forward", map[string]string{"X-Drop-Vh": "1"}, nil)
		e := decodeEchoed(t, body)
		if header(e.Header, "X-Vh") != "" || header(e.Header, "X-Drop-Vh") != "1" || header(resp.Header, "X-Vh-Resp") != "" {
			t.Errorf("request %v, response %v", e.Header, resp.Header)
		}
	})
	// table.VirtualHost: "RequestHeaders and ResponseHeaders apply to every route's request
	// and response, after (request) or before (response) the route's own." The Envoy
	// translation relies on it: a virtual host's request_headers_to_add stay on the virtual
	// host because Envoy also applies them after the route's.
	t.Run("virtual host request operations apply after the route's", func(t *testing.T) {
		_, e := forward(t)
		if got := header(e.Header, "X-Both"); got != "vh" {
			t.Errorf("X-Both set by the route and its virtual host: %q, want the virtual host's %q", got, "vh")
		}
	})
	t.Run("virtual host response operations apply before the route's", func(t *testing.T) {
		resp, _ := forward(t)
		if got := header(resp.Header, "X-Both-Resp"); got != "route" {
			t.Errorf("X-Both-Resp set by the route and its virtual host: %q, want the route's %q", got, "route")
		}
	})
}
