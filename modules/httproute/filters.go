package httproute

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// chain runs a middleware in front of next.
func chain(mw caddyhttp.MiddlewareHandler, next caddyhttp.Handler) caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return mw.ServeHTTP(w, r, next)
	})
}

// headerHandler turns header operations into Caddy's headers handler. Values are literal:
// braces are escaped so that Caddy does not read them as placeholders.
func headerHandler(ctx caddy.Context, req, resp *table.HeaderOps) (*headers.Handler, error) {
	if req.IsEmpty() && resp.IsEmpty() {
		return nil, nil
	}
	h := &headers.Handler{}
	if !req.IsEmpty() {
		h.Request = caddyOps(req)
	}
	if !resp.IsEmpty() {
		// Deferred: applied to the upstream's response as it is written.
		h.Response = &headers.RespHeaderOps{HeaderOps: caddyOps(resp), Deferred: true}
	}
	if err := h.Provision(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

func caddyOps(ops *table.HeaderOps) *headers.HeaderOps {
	out := &headers.HeaderOps{Delete: append([]string(nil), ops.Remove...)}
	for _, h := range ops.Set {
		if out.Set == nil {
			out.Set = http.Header{}
		}
		out.Set[http.CanonicalHeaderKey(h.Name)] = append(out.Set[http.CanonicalHeaderKey(h.Name)], literal(h.Value))
	}
	for _, h := range ops.Add {
		if out.Add == nil {
			out.Add = http.Header{}
		}
		out.Add[http.CanonicalHeaderKey(h.Name)] = append(out.Add[http.CanonicalHeaderKey(h.Name)], literal(h.Value))
	}
	return out
}

var placeholderEscaper = strings.NewReplacer("{", `\{`, "}", `\}`)

// literal escapes Caddy placeholders, for values that come from route objects.
func literal(s string) string {
	if !strings.ContainsAny(s, "{}") {
		return s
	}
	return placeholderEscaper.Replace(s)
}

// mirror sends a copy of requests to a cluster and discards the answer. Copies are sent in
// the background, at most maxMirrorsInFlight at a time per router: a slow mirror drops
// copies rather than slowing the real traffic or piling up goroutines.
type mirror struct {
	fraction *table.Fraction
	ups      interface{ dials() []string }
	next     atomic.Uint32
	client   *mirrorClient
}

// mirrorBodyLimit is the largest request body a mirror copies; larger bodies are not
// mirrored, since the body would have to be held in memory.
const mirrorBodyLimit = 64 << 10

func (m *mirror) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if f := m.fraction; f != nil && f.Denominator > 0 && rand.Uint32N(f.Denominator) >= f.Numerator {
		return next.ServeHTTP(w, r)
	}
	dials := m.ups.dials()
	if len(dials) == 0 {
		return next.ServeHTTP(w, r)
	}
	dial := dials[int(m.next.Add(1))%len(dials)]
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength < 0 || r.ContentLength > mirrorBodyLimit {
			return next.ServeHTTP(w, r)
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, mirrorBodyLimit+1))
		if err != nil {
			return caddyhttp.Error(http.StatusBadRequest, err)
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	m.client.send(r, dial, body)
	return next.ServeHTTP(w, r)
}

// mirrorClient sends mirrored requests.
type mirrorClient struct {
	http     *http.Client
	inFlight atomic.Int32
	ctx      context.Context // done when the router is cleaned up
}

const maxMirrorsInFlight = 256

func newMirrorClient(ctx context.Context) *mirrorClient {
	return &mirrorClient{ctx: ctx, http: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

func (c *mirrorClient) send(r *http.Request, dial string, body []byte) {
	if c.inFlight.Add(1) > maxMirrorsInFlight {
		c.inFlight.Add(-1)
		return
	}
	u := *r.URL
	u.Scheme, u.Host = "http", dial
	req, err := http.NewRequestWithContext(c.ctx, r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		c.inFlight.Add(-1)
		return
	}
	req.Header = r.Header.Clone()
	req.Host = r.Host
	go func() {
		defer c.inFlight.Add(-1)
		resp, err := c.http.Do(req)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}()
}

func (c *mirrorClient) close() {
	if t, ok := c.http.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
}

// cors is a CORS policy: it answers preflight requests itself and adds the response
// headers to the others.
type cors struct {
	c       *table.CORS
	methods string
	headers string
	expose  string
}

func newCORS(c *table.CORS) *cors {
	return &cors{c: c, methods: strings.Join(c.AllowMethods, ", "), headers: strings.Join(c.AllowHeaders, ", "), expose: strings.Join(c.ExposeHeaders, ", ")}
}

func (c *cors) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != ""
	if origin == "" || !c.allowed(origin) {
		if preflight {
			// A preflight is the policy's to answer: one from an origin it does not
			// allow gets no CORS headers, which the browser reads as a refusal, and never
			// reaches the backend.
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		return next.ServeHTTP(w, r)
	}
	h := w.Header()
	if slices.Contains(c.c.AllowOrigins, "*") && !c.c.AllowCredentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	if c.c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if preflight {
		// A preflight is answered here. A wildcard cannot be used with credentials (the
		// browser would refuse it), so then the request's own method and headers are
		// echoed, which is what "*" means.
		if methods := c.methods; methods != "" {
			if methods == "*" && c.c.AllowCredentials {
				methods = r.Header.Get("Access-Control-Request-Method")
			}
			h.Set("Access-Control-Allow-Methods", methods)
		}
		if headers := c.headers; headers != "" {
			if headers == "*" && c.c.AllowCredentials {
				headers = r.Header.Get("Access-Control-Request-Headers")
			}
			if headers != "" {
				h.Set("Access-Control-Allow-Headers", headers)
			}
		}
		if c.expose != "" {
			h.Set("Access-Control-Expose-Headers", c.expose)
		}
		if c.c.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(c.c.MaxAge))
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if c.expose != "" {
		h.Set("Access-Control-Expose-Headers", c.expose)
	}
	return next.ServeHTTP(w, r)
}

// allowed matches an origin against the allowed ones, "*" and "scheme://*.domain" included.
func (c *cors) allowed(origin string) bool {
	for _, o := range c.c.AllowOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
		if scheme, rest, ok := strings.Cut(o, "://*"); ok {
			if p := scheme + "://"; strings.HasPrefix(origin, p) && strings.HasSuffix(strings.ToLower(origin), strings.ToLower(rest)) && len(origin) > len(p)+len(rest) {
				return true
			}
		}
	}
	return false
}
