package httproute

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// forward is the Forward action: pick a backend by weight, rewrite, proxy.
type forward struct {
	backends []backend
	total    uint32
	rewrite  *rewriter
	timeout  time.Duration
}

// backend is a compiled Backend: its handler chain (header filters, then the proxy) or
// the reason it cannot be reached.
type backend struct {
	weight  uint32
	invalid string
	handler caddyhttp.Handler
}

func (f *forward) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	if f.total == 0 {
		return caddyhttp.Error(http.StatusInternalServerError, errors.New("the route has no backend with a weight"))
	}
	b := f.pick()
	if b.invalid != "" {
		return caddyhttp.Error(http.StatusInternalServerError, errors.New(b.invalid))
	}
	if f.rewrite != nil {
		f.rewrite.apply(r)
	}
	if f.timeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), f.timeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	return b.handler.ServeHTTP(w, r)
}

func (f *forward) pick() *backend {
	if len(f.backends) == 1 {
		return &f.backends[0]
	}
	n := rand.Uint32N(f.total)
	for i := range f.backends {
		if n < f.backends[i].weight {
			return &f.backends[i]
		}
		n -= f.backends[i].weight
	}
	return &f.backends[len(f.backends)-1] // unreachable: n < total
}

// rewriter is a compiled Rewrite, with the prefix the route matched.
type rewriter struct {
	host          string
	fullPath      *string
	prefixRepl    *string
	matchedPrefix string
	segment       bool // the prefix is a segment prefix: join on "/"
	re            *regexp.Regexp
	reRepl        string
}

func compileRewrite(rw *table.Rewrite, m *matcher) (*rewriter, error) {
	out := &rewriter{host: rw.Host, fullPath: rw.FullPath, prefixRepl: rw.PrefixReplacement}
	if m.path != nil {
		out.matchedPrefix = m.prefix
		out.segment = m.path.Kind == table.PathSegmentPrefix
	}
	if rw.Regex != nil {
		re, err := regexp.Compile(rw.Regex.Pattern)
		if err != nil {
			return nil, err
		}
		out.re, out.reRepl = re, envoySubstitution(rw.Regex.Substitution)
	}
	return out, nil
}

// envoySubstitution turns Envoy's "\1" group references into Go's "${1}".
func envoySubstitution(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
			continue
		}
		if s[i] == '$' {
			b.WriteString("$$")
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (rw *rewriter) apply(r *http.Request) {
	if rw.host != "" {
		r.Host = rw.host
	}
	path, changed := rw.newPath(r.URL.Path)
	if changed {
		r.URL.Path, r.URL.RawPath = path, ""
	}
}

func (rw *rewriter) newPath(path string) (string, bool) {
	switch {
	case rw.fullPath != nil:
		return *rw.fullPath, true
	case rw.prefixRepl != nil:
		return replacePrefix(path, rw.matchedPrefix, *rw.prefixRepl, rw.segment), true
	case rw.re != nil:
		return rw.re.ReplaceAllString(path, rw.reRepl), true
	}
	return path, false
}

// replacePrefix replaces the matched prefix of path. For a segment prefix the two parts
// are joined on exactly one "/", and an empty result is "/" (Gateway API's
// ReplacePrefixMatch); a plain prefix is replaced as a string (Envoy's prefix_rewrite).
func replacePrefix(path, prefix, repl string, segment bool) string {
	if len(prefix) > len(path) {
		return path
	}
	rest := path[len(prefix):]
	if !segment {
		return repl + rest
	}
	out := strings.TrimSuffix(repl, "/") + rest
	if out == "" {
		return "/"
	}
	if !strings.HasPrefix(out, "/") {
		out = "/" + out
	}
	return out
}

// redirect is the Redirect action.
type redirect struct {
	r       *table.Redirect
	rewrite *rewriter
}

func (rd *redirect) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	port := listenerPort(r)
	if rd.r.Scheme != "" {
		scheme = rd.r.Scheme
		port = 0 // the scheme's own port, unless one is given
	}
	if rd.r.Port != 0 {
		port = rd.r.Port
	}
	host := requestHost(r.Host)
	if rd.r.Host != "" {
		host = rd.r.Host
	}
	if port != 0 && !(scheme == "http" && port == 80) && !(scheme == "https" && port == 443) {
		host = net.JoinHostPort(host, strconv.Itoa(port))
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	path, _ := rd.rewrite.newPath(r.URL.Path)
	loc := scheme + "://" + host + path
	if r.URL.RawQuery != "" && !rd.r.StripQuery {
		loc += "?" + r.URL.RawQuery
	}
	code := rd.r.StatusCode
	if code == 0 {
		code = http.StatusFound
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(code)
	return nil
}

// listenerPortKey keys, in a connection's context, the Gateway listener port it was
// accepted on, which redirects keep when they change nothing else.
type listenerPortKey struct{}

// listenerPort is the port the request came in on: the Gateway listener's port when the
// Gateway controller serves it (its socket may be bound elsewhere), else the Host's port,
// else the local address's.
func listenerPort(r *http.Request) int {
	if p, ok := r.Context().Value(listenerPortKey{}).(int); ok {
		return p
	}
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		n, _ := strconv.Atoi(p)
		return n
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, p, err := net.SplitHostPort(a.String()); err == nil {
			n, _ := strconv.Atoi(p)
			return n
		}
	}
	return 0
}

// directResponse is the DirectResponse action.
type directResponse struct {
	status int
	body   string
}

func (d *directResponse) ServeHTTP(w http.ResponseWriter, _ *http.Request) error {
	if d.body != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(d.body)))
	}
	w.WriteHeader(d.status)
	if d.body != "" {
		_, _ = w.Write([]byte(d.body))
	}
	return nil
}

// failing answers every request with an error: a route whose compilation failed serves a
// 500 with the reason in the log, while the rest of the table serves normally.
type failing struct{ err error }

func (f failing) ServeHTTP(http.ResponseWriter, *http.Request) error {
	return caddyhttp.Error(http.StatusInternalServerError, f.err)
}
