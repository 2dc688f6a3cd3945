package httproute

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// compiler turns tables into compiled tables. It is shared by every table a router (or a
// Gateway's ports) serves over time, so that unchanged clusters keep their proxies.
type compiler struct {
	ctx     caddy.Context
	logger  *zap.Logger
	proxies *proxies
	mirrors *mirrorClient
}

func newCompiler(ctx caddy.Context, endpoints *Endpoints, logger *zap.Logger) *compiler {
	return &compiler{ctx: ctx, logger: logger, proxies: newProxies(ctx, endpoints), mirrors: newMirrorClient(ctx)}
}

// close releases every proxy and the mirrors' connections. It may be called more than once.
func (c *compiler) close() {
	c.proxies.closeAll()
	c.mirrors.close()
}

// compile builds a servable table. A route that cannot be compiled is served as a 500 and
// reported in the returned errors; nothing else is lost.
func (c *compiler) compile(t *table.Table) (*compiled, []error) {
	b := &build{c: c, t: t}
	ctx, cancel := caddy.NewContext(c.ctx) // for the extensions' modules
	b.ctx = ctx
	out := &compiled{table: t, hosts: hostIndex{exact: map[string]*vhost{}, suffixes: map[string]*vhost{}}}
	for _, v := range t.VirtualHosts {
		vh := b.vhost(v)
		for _, d := range v.Domains {
			out.hosts.add(strings.ToLower(d), vh)
		}
	}
	keys := b.keys
	out.release = func() {
		for _, k := range keys {
			c.proxies.release(k)
		}
		cancel()
	}
	return out, b.errs
}

// build is one compile's state.
type build struct {
	c    *compiler
	t    *table.Table
	ctx  caddy.Context
	keys []proxyKey // proxies acquired, to release with the table
	errs []error
}

func (b *build) vhost(v *table.VirtualHost) *vhost {
	vh := &vhost{name: v.Name, paths: newPathIndex()}
	vhHeaders, err := headerHandler(b.ctx, v.RequestHeaders, v.ResponseHeaders)
	if err != nil {
		b.errs = append(b.errs, fmt.Errorf("virtual host %q: headers: %w", v.Name, err))
	}
	for i, r := range v.Routes {
		m, h, err := b.route(r)
		if err != nil {
			err = fmt.Errorf("virtual host %q route %q: %w", v.Name, r.Name, err)
			b.errs = append(b.errs, err)
			b.c.logger.Error("route not compiled; it answers 500", zap.Error(err))
			h = failing{err: err}
			if m == nil {
				m = &matcher{path: r.Match.Path, method: r.Match.Method}
				if r.Match.Path != nil && r.Match.Path.Kind == table.PathRegex {
					m.path = nil // matches everything the regex might have; served as 500
				}
			}
		}
		if vhHeaders != nil {
			h = chain(vhHeaders, h)
		}
		vh.routes = append(vh.routes, &route{name: r.Name, match: m, handler: h})
		vh.paths.add(int32(i), m)
	}
	return vh
}

// route compiles one route into its matcher and handler chain, outermost first: CORS,
// header filters, extensions, mirrors, then the action.
func (b *build) route(r *table.Route) (*matcher, caddyhttp.Handler, error) {
	m, err := compileMatch(r.Match)
	if err != nil {
		return nil, nil, err
	}
	h, err := b.action(r, m)
	if err != nil {
		return m, nil, err
	}
	for i := len(r.Mirrors) - 1; i >= 0; i-- {
		mr := r.Mirrors[i]
		ups, err := b.upstreams(mr.Cluster)
		if err != nil {
			return m, nil, fmt.Errorf("mirror: %w", err)
		}
		h = chain(&mirror{fraction: mr.Fraction, ups: ups, client: b.c.mirrors}, h)
	}
	for i := len(r.Extensions) - 1; i >= 0; i-- {
		ext, err := b.extension(r.Extensions[i])
		if err != nil {
			return m, nil, fmt.Errorf("extension %d: %w", i, err)
		}
		h = chain(ext, h)
	}
	hh, err := headerHandler(b.ctx, r.RequestHeaders, r.ResponseHeaders)
	if err != nil {
		return m, nil, fmt.Errorf("headers: %w", err)
	}
	if hh != nil {
		h = chain(hh, h)
	}
	if r.CORS != nil {
		h = chain(newCORS(r.CORS), h)
	}
	return m, h, nil
}

func (b *build) action(r *table.Route, m *matcher) (caddyhttp.Handler, error) {
	n := 0
	for _, set := range []bool{r.Forward != nil, r.Redirect != nil, r.DirectResponse != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("a route needs exactly one action")
	}
	switch {
	case r.DirectResponse != nil:
		return &directResponse{status: r.DirectResponse.Status, body: r.DirectResponse.Body}, nil
	case r.Redirect != nil:
		rw, _ := compileRewrite(&table.Rewrite{FullPath: r.Redirect.FullPath, PrefixReplacement: r.Redirect.PrefixReplacement}, m)
		return &redirect{r: r.Redirect, rewrite: rw}, nil
	}
	return b.forward(r.Forward, m)
}

func (b *build) forward(f *table.Forward, m *matcher) (caddyhttp.Handler, error) {
	out := &forward{timeout: f.Timeout}
	if f.Rewrite != nil {
		rw, err := compileRewrite(f.Rewrite, m)
		if err != nil {
			return nil, fmt.Errorf("rewrite: %w", err)
		}
		out.rewrite = rw
	}
	for _, be := range f.Backends {
		cb := backend{weight: be.Weight, invalid: be.Invalid}
		if cb.invalid == "" {
			h, err := b.proxy(be.Cluster, f)
			if err != nil {
				return nil, err
			}
			hh, err := headerHandler(b.ctx, be.RequestHeaders, be.ResponseHeaders)
			if err != nil {
				return nil, fmt.Errorf("backend headers: %w", err)
			}
			if hh != nil {
				h = chain(hh, h)
			}
			cb.handler = h
		}
		out.backends = append(out.backends, cb)
		out.total += be.Weight
	}
	return out, nil
}

// proxy acquires the reverse_proxy handler of a cluster with the forward's per-try
// settings.
func (b *build) proxy(cluster string, f *table.Forward) (caddyhttp.Handler, error) {
	def, ok := b.t.Clusters[cluster]
	if !ok || def == nil {
		return nil, fmt.Errorf("cluster %q is not in the table", cluster)
	}
	k := proxyKey{Cluster: cluster, Def: *def, BackendTimeout: f.BackendTimeout, Retry: f.Retry}
	e, err := b.c.proxies.acquire(k)
	if err != nil {
		return nil, err
	}
	b.keys = append(b.keys, k)
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return e.h.ServeHTTP(w, r, notFound)
	}), nil
}

// upstreams acquires a cluster's addresses (for mirrors).
func (b *build) upstreams(cluster string) (interface{ dials() []string }, error) {
	def, ok := b.t.Clusters[cluster]
	if !ok || def == nil {
		return nil, fmt.Errorf("cluster %q is not in the table", cluster)
	}
	k := proxyKey{Cluster: cluster, Def: *def}
	e, err := b.c.proxies.acquire(k)
	if err != nil {
		return nil, err
	}
	b.keys = append(b.keys, k)
	return e.ups.(interface{ dials() []string }), nil
}

// notFound ends a chain that found nothing to do.
var notFound = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
	return caddyhttp.Error(http.StatusNotFound, errNoRoute)
})

// extension loads an ExtensionRef's Caddy handler from its JSON.
func (b *build) extension(raw table.RawHandler) (caddyhttp.MiddlewareHandler, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("decoding handler: %w", err)
	}
	var name string
	if err := json.Unmarshal(fields["handler"], &name); err != nil || name == "" {
		return nil, errors.New(`a handler needs a "handler" name`)
	}
	delete(fields, "handler")
	cfg, _ := json.Marshal(fields)
	mod, err := b.ctx.LoadModuleByID("http.handlers."+name, cfg)
	if err != nil {
		return nil, err
	}
	h, ok := mod.(caddyhttp.MiddlewareHandler)
	if !ok {
		return nil, fmt.Errorf("module %q is not an HTTP handler", name)
	}
	return h, nil
}
