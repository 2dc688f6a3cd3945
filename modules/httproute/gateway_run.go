package httproute

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
	"github.com/caddymesh/caddymesh/modules/httproute/table"
	"github.com/caddymesh/caddymesh/modules/mesh"
)

// gatewayRun is a GatewayAgent's running state: the ports it serves, their listeners and
// the status it reports. It is pooled by the agent's config, so that a config reload that
// leaves the agent's settings alone keeps the listeners open and the connections on them:
// the new config's agent attaches its collections to the same run.
type gatewayRun struct {
	agent    *GatewayAgent // the settings; any agent of the same config would do
	logger   *zap.Logger
	status   *statusReporter
	statuses *statusFeed
	ctx      context.Context
	cancel   context.CancelFunc

	specs   *collection.Static[portSpec] // the listeners wanted, for RunForEach
	forEach *collection.ForEach[portSpec]

	mu         sync.Mutex // guards the fields below
	states     map[string]*portState
	attached   *attachment
	bindErrs   map[string]error   // ports that could not be bound, by "ns/name:port"
	lastResult *gatewayapi.Result // the last translation, to report again with bindErrs
}

// attachment is one config's side of a run: its collections, its endpoint snapshot, the
// compiler that provisions handlers in its Caddy context, and the translation loop with
// its cache (only the loop uses it).
type attachment struct {
	owner     *GatewayAgent
	app       *mesh.App
	previous  *compiler // the superseded attachment's, closed after the first apply
	inputs    *gatewayInputs
	endpoints *Endpoints
	compiler  *compiler
	cache     *gatewayapi.Cache
	dirty     chan struct{}
	cancel    context.CancelFunc
	unwatch   func()
	wg        sync.WaitGroup
}

// portSpec is one listener to keep open: what RunForEach starts and stops. It is a value,
// so an unchanged port compares equal and its listener is left alone.
type portSpec struct {
	Key      string // "ns/name:port"
	Gateway  string
	Port     int32
	Protocol gatewayapi.Protocol
	Bind     string
}

// portState is what a port's listener serves; it outlives table changes.
type portState struct {
	spec   portSpec
	router Router
	certs  atomicCerts
	logger *zap.Logger

	mu       sync.Mutex // guards the fields below
	table    *table.Table
	compiler *compiler // the one that compiled what is served
	bound    string
}

// forget makes the next update compile, even if the table is unchanged.
func (st *portState) forget() {
	st.mu.Lock()
	st.table = nil
	st.mu.Unlock()
}

// swapOut stops serving the port's table and returns the compiler that built it.
func (st *portState) swapOut() *compiler {
	st.router.swap(nil)
	st.mu.Lock()
	defer st.mu.Unlock()
	c := st.compiler
	st.table, st.compiler = nil, nil
	return c
}

func newGatewayRun(g *GatewayAgent) *gatewayRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &gatewayRun{
		agent: g, logger: g.logger, ctx: ctx, cancel: cancel,
		specs:  collection.NewStatic[portSpec](collection.WithName("gateway/ports"), collection.WithKey(func(p portSpec) string { return p.Key })),
		states: make(map[string]*portState), bindErrs: make(map[string]error),
	}
	r.status = newStatusReporter(ctx, gatewayv1.GatewayController(g.ControllerName), g.logger)
	r.statuses = newStatusFeed(ctx, r.status)
	r.forEach = collection.RunForEach(r.specs, r.openPort, collection.OnStartError[portSpec](func(key string, err error) {
		r.logger.Error("opening gateway listener", zap.String("listener", key), zap.Error(err))
		r.bindFailed(key, err)
	}))
	r.status.start()
	return r
}

// attach makes g's config the one the run follows: its collections are watched, and every
// port's table is compiled again in its Caddy context (the listeners stay open). The
// previous config's attachment, if any, is stopped once the new one has taken over.
func (r *gatewayRun) attach(g *GatewayAgent, app *mesh.App, inputs *gatewayInputs, endpoints *Endpoints) {
	ctx, cancel := context.WithCancel(r.ctx)
	a := &attachment{owner: g, app: app, inputs: inputs, endpoints: endpoints,
		compiler: newCompiler(g.ctx, endpoints, g.logger), cache: gatewayapi.NewCache(),
		dirty: make(chan struct{}, 1), cancel: cancel}
	r.mu.Lock()
	prev := r.attached
	r.attached = a
	if prev != nil {
		a.previous = prev.compiler
	}
	for _, st := range r.states {
		st.forget() // compile anew, with this config's handlers
	}
	r.mu.Unlock()
	r.status.setApp(app)
	a.unwatch = inputs.watch(a.markDirty)
	a.markDirty()
	a.wg.Add(1)
	go r.loop(ctx, a)
	if prev != nil {
		prev.stop()
	}
}

// detach stops g's attachment if it is still the current one: a reload has attached the
// new config before the old one stops, and then there is nothing to do.
func (r *gatewayRun) detach(g *GatewayAgent) {
	r.mu.Lock()
	a := r.attached
	if a == nil || a.owner != g {
		r.mu.Unlock()
		return
	}
	r.attached = nil
	r.mu.Unlock()
	a.stop()
}

func (a *attachment) stop() {
	a.unwatch()
	a.cancel()
	a.wg.Wait()
	// The tables compiled by this attachment stay served until the next attachment's
	// compile replaces them; their handlers are released by that swap.
	a.endpoints.Stop()
}

// Destruct closes the listeners and stops reporting: the last config using the run is gone.
func (r *gatewayRun) Destruct() error {
	r.mu.Lock()
	a := r.attached
	r.attached = nil
	r.mu.Unlock()
	if a != nil {
		a.stop()
	}
	r.cancel()
	r.statuses.wait()
	r.status.stop()
	r.forEach.Stop()
	r.mu.Lock()
	compilers := map[*compiler]bool{}
	for _, st := range r.states {
		if c := st.swapOut(); c != nil {
			compilers[c] = true
		}
	}
	r.states = map[string]*portState{}
	r.mu.Unlock()
	if a != nil {
		compilers[a.compiler] = true
		if a.previous != nil {
			compilers[a.previous] = true
		}
	}
	for c := range compilers {
		c.close()
	}
	return nil
}

func (a *attachment) markDirty() {
	select {
	case a.dirty <- struct{}{}:
	default: // a translation is already due; it will see this change too
	}
}

// loop translates whenever an input changes. Changes that arrive during a translation
// coalesce into one more.
func (r *gatewayRun) loop(ctx context.Context, a *attachment) {
	defer a.wg.Done()
	if err := collection.WaitSynced(ctx, a.inputs.all()...); err != nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.dirty:
		}
		start := time.Now()
		in := a.inputs.snapshot(r.agent.translationInput())
		in.Cache = a.cache
		// Statuses carry their times to the second; a clock at that precision lets the
		// translations of a burst of changes reuse the statuses of unchanged routes.
		in.Now = metav1.NewTime(in.Now.Truncate(time.Second))
		res := gatewayapi.Translate(in)
		r.apply(a, res)
		if a.previous != nil {
			// Every port now serves a table of this attachment's compiler; the old one's
			// proxies were released by the swaps.
			a.previous.close()
			a.previous = nil
		}
		r.logger.Debug("gateway translated", zap.Int("gateways", len(res.Gateways)), zap.Duration("took", time.Since(start)))
	}
}

// apply serves a translation: new tables are compiled and swapped in port by port, then
// the listeners wanted are handed to RunForEach, then the statuses to the reporter (in
// the background).
func (r *gatewayRun) apply(a *attachment, res *gatewayapi.Result) {
	var specs []portSpec
	keep := make(map[string]bool)
	for _, gw := range res.Gateways {
		for _, p := range gw.Ports {
			spec := portSpec{Key: gw.Key() + ":" + strconv.Itoa(int(p.Port)), Gateway: gw.Key(), Port: p.Port, Protocol: p.Protocol, Bind: r.bindAddress(p.Port)}
			st := r.state(spec)
			st.update(a.compiler, p)
			specs = append(specs, spec)
			keep[spec.Key] = true
		}
	}
	r.specs.Reset(specs)
	r.mu.Lock()
	for k, st := range r.states {
		if !keep[k] {
			st.swapOut()
			delete(r.states, k)
		}
	}
	for k := range r.bindErrs {
		if !keep[k] {
			delete(r.bindErrs, k)
		}
	}
	r.mu.Unlock()
	r.pushStatuses(res)
}

func (r *gatewayRun) bindAddress(port int32) string {
	return net.JoinHostPort(r.agent.ListenHost, strconv.Itoa(int(r.agent.bindPort(port))))
}

// state returns the port's state, creating it (with its spec) on first use.
func (r *gatewayRun) state(spec portSpec) *portState {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.states[spec.Key]
	if !ok || st.spec != spec {
		if ok {
			st.swapOut()
		}
		st = &portState{spec: spec, logger: r.logger.With(zap.String("listener", spec.Key))}
		r.states[spec.Key] = st
	}
	return st
}

// update compiles and swaps the port's table if it changed, and its certificates. The
// compile takes over the compiled routes of the table served that did not change.
func (st *portState) update(c *compiler, p *gatewayapi.Port) {
	st.certs.set(p.Certificates, st.logger)
	st.mu.Lock()
	same := st.table != nil && tablesEqual(st.table, p.Table)
	if !same {
		st.table = p.Table
	}
	st.mu.Unlock()
	if same {
		return
	}
	compiled, errs := c.compile(p.Table)
	for _, err := range errs {
		st.logger.Error("route table", zap.Error(err))
	}
	st.router.swap(compiled)
	st.mu.Lock()
	st.compiler = c
	st.mu.Unlock()
}

// openPort is RunForEach's start: listen, and serve the port's state.
func (r *gatewayRun) openPort(spec portSpec) (func(), error) {
	r.mu.Lock()
	st := r.states[spec.Key]
	r.mu.Unlock()
	if st == nil {
		return nil, errors.New("no state for the port") // removed since; the next Reset stops it
	}
	ln, err := net.Listen("tcp", spec.Bind)
	if err != nil {
		return nil, err
	}
	r.bindFailed(spec.Key, nil)
	srv := &http.Server{
		Handler:           st,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          zap.NewStdLog(st.logger.Named("http")),
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, listenerPortKey{}, int(spec.Port))
		},
	}
	if spec.Protocol == gatewayapi.HTTPS {
		srv.TLSConfig = &tls.Config{GetCertificate: st.certs.get, MinVersion: tls.VersionTLS12}
	}
	st.mu.Lock()
	st.bound = ln.Addr().String()
	st.mu.Unlock()
	st.logger.Info("gateway listener open", zap.String("address", ln.Addr().String()), zap.String("protocol", string(spec.Protocol)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		var err error
		if spec.Protocol == gatewayapi.HTTPS {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			st.logger.Error("gateway listener", zap.Error(err))
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		<-done
		st.mu.Lock()
		st.bound = ""
		st.mu.Unlock()
	}, nil
}

// gatewayServer stands in for the caddyhttp.Server that Caddy's handlers find in a
// request's context: the Gateway's listeners are not servers of the http app.
var gatewayServer = new(caddyhttp.Server)

// ServeHTTP serves one request on a Gateway port: it prepares the request as Caddy's HTTP
// server does (replacer, variables), routes it, and writes a routing error's status.
func (st *portState) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	repl := caddy.NewReplacer()
	r = caddyhttp.PrepareRequest(r, repl, w, gatewayServer)
	err := st.router.serve(w, r)
	if err == nil {
		return
	}
	code := http.StatusInternalServerError
	var he caddyhttp.HandlerError
	switch {
	case errors.Is(err, errNoRoute):
		code = http.StatusNotFound
	case errors.As(err, &he) && he.StatusCode != 0:
		code = he.StatusCode
	}
	if code >= 500 {
		st.logger.Debug("request failed", zap.String("host", r.Host), zap.String("path", r.URL.Path), zap.Int("status", code), zap.Error(err))
	}
	if code == 499 {
		return // the client has gone
	}
	w.WriteHeader(code)
}

// listenerInfos reports the open listeners.
func (r *gatewayRun) listenerInfos() []ListenerInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ListenerInfo
	for _, st := range r.states {
		st.mu.Lock()
		bound := st.bound
		n := 0
		if st.table != nil {
			n = len(st.table.VirtualHosts)
		}
		st.mu.Unlock()
		if bound == "" {
			continue
		}
		out = append(out, ListenerInfo{Gateway: st.spec.Gateway, Port: st.spec.Port, Protocol: string(st.spec.Protocol), Address: bound, Routes: n})
	}
	return out
}
