package httproute

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// unitBuild compiles one route, recording what it acquires in u.
type unitBuild struct {
	*build
	u         *routeUnit
	vhHeaders *headers.Handler // the virtual host's header operations, if any
	ctx       *caddy.Context   // the route's own, for its extensions: made on first use
}

// context is the route's own context, whose modules are cleaned up when the route is no
// longer served (or the compiler is closed).
func (b *unitBuild) context() caddy.Context {
	if b.ctx == nil {
		ctx, cancel := caddy.NewContext(b.c.ctx)
		b.ctx, b.u.cancel = &ctx, cancel
		b.c.units.contexts[b.u] = struct{}{}
	}
	return *b.ctx
}

// route compiles one route into its matcher and handler chain, outermost first: CORS,
// the route's header filters, the virtual host's (so that on the request the virtual
// host's apply after the route's, and on the response before, as in Envoy), extensions,
// mirrors, then the action.
func (b *unitBuild) route(r *table.Route) (*matcher, caddyhttp.Handler, error) {
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
	if b.vhHeaders != nil {
		h = chain(b.vhHeaders, h)
	}
	hh, err := headerHandler(b.c.ctx, r.RequestHeaders, r.ResponseHeaders)
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

func (b *unitBuild) action(r *table.Route, m *matcher) (caddyhttp.Handler, error) {
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

func (b *unitBuild) forward(f *table.Forward, m *matcher) (caddyhttp.Handler, error) {
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
			hh, err := headerHandler(b.c.ctx, be.RequestHeaders, be.ResponseHeaders)
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

// cluster looks a cluster up in the table and records that the route uses it.
func (b *unitBuild) cluster(name string) (*table.Cluster, error) {
	def, ok := b.t.Clusters[name]
	if !ok || def == nil {
		return nil, fmt.Errorf("cluster %q is not in the table", name)
	}
	if k := b.defs[def]; k == name {
		name = k // the table's own string: later comparisons find the same bytes
	}
	b.u.clusters = append(b.u.clusters, clusterUse{name: name, def: def})
	return def, nil
}

// proxy acquires the reverse_proxy handler of a cluster with the forward's per-try
// settings.
func (b *unitBuild) proxy(cluster string, f *table.Forward) (caddyhttp.Handler, error) {
	def, err := b.cluster(cluster)
	if err != nil {
		return nil, err
	}
	k := proxyKey{Cluster: cluster, Def: *def, BackendTimeout: f.BackendTimeout, Retry: f.Retry}
	e, err := b.c.proxies.acquire(k)
	if err != nil {
		return nil, err
	}
	b.u.keys = append(b.u.keys, k)
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return e.h.ServeHTTP(w, r, notFound)
	}), nil
}

// upstreams acquires a cluster's addresses (for mirrors).
func (b *unitBuild) upstreams(cluster string) (interface{ dials() []string }, error) {
	def, err := b.cluster(cluster)
	if err != nil {
		return nil, err
	}
	k := proxyKey{Cluster: cluster, Def: *def}
	e, err := b.c.proxies.acquire(k)
	if err != nil {
		return nil, err
	}
	b.u.keys = append(b.u.keys, k)
	return e.ups.(interface{ dials() []string }), nil
}

// notFound ends a chain that found nothing to do.
var notFound = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
	return caddyhttp.Error(http.StatusNotFound, errNoRoute)
})

// extension loads an ExtensionRef's Caddy handler from its JSON, in the route's context.
func (b *unitBuild) extension(raw table.RawHandler) (caddyhttp.MiddlewareHandler, error) {
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
	mod, err := b.context().LoadModuleByID("http.handlers."+name, cfg)
	if err != nil {
		return nil, err
	}
	h, ok := mod.(caddyhttp.MiddlewareHandler)
	if !ok {
		return nil, fmt.Errorf("module %q is not an HTTP handler", name)
	}
	return h, nil
}
