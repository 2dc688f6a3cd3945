package httproute

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
	"github.com/caddymesh/caddymesh/modules/httproute/table"
	"github.com/caddymesh/caddymesh/modules/mesh"
)

// gatewayRun is one started GatewayAgent: the translation loop, the ports it serves and the
// status it reports.
type gatewayRun struct {
	agent     *GatewayAgent
	app       *mesh.App
	inputs    *gatewayInputs
	endpoints *Endpoints
	compiler  *compiler
	logger    *zap.Logger
	status    *statusReporter

	dirty  chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	specs   *collection.Static[portSpec] // the listeners wanted, for RunForEach
	forEach *collection.ForEach[portSpec]
	unwatch func()

	mu     sync.Mutex // guards states
	states map[string]*portState
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

	mu    sync.Mutex // guards the fields below
	table *table.Table
	bound string
}

func newGatewayRun(g *GatewayAgent, app *mesh.App, inputs *gatewayInputs, endpoints *Endpoints) *gatewayRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &gatewayRun{
		agent: g, app: app, inputs: inputs, endpoints: endpoints, logger: g.logger,
		compiler: newCompiler(g.ctx, endpoints, g.logger),
		dirty:    make(chan struct{}, 1), ctx: ctx, cancel: cancel,
		specs:  collection.NewStatic[portSpec](collection.WithName("gateway/ports"), collection.WithKey(func(p portSpec) string { return p.Key })),
		states: make(map[string]*portState),
	}
	r.status = newStatusReporter(ctx, app, gatewayv1.GatewayController(g.ControllerName), g.logger)
	return r
}

func (r *gatewayRun) start() {
	r.forEach = collection.RunForEach(r.specs, r.openPort, collection.OnStartError[portSpec](func(key string, err error) {
		r.logger.Error("opening gateway listener", zap.String("listener", key), zap.Error(err))
	}))
	r.unwatch = r.inputs.watch(r.markDirty)
	r.wg.Add(1)
	go r.loop()
	r.status.start()
}

func (r *gatewayRun) stop() {
	r.unwatch()
	r.cancel()
	r.wg.Wait()
	r.status.stop()
	r.forEach.Stop()
	r.mu.Lock()
	for _, st := range r.states {
		st.router.swap(nil)
	}
	r.states = map[string]*portState{}
	r.mu.Unlock()
	r.compiler.close()
	r.endpoints.Stop()
}

func (r *gatewayRun) markDirty() {
	select {
	case r.dirty <- struct{}{}:
	default: // a translation is already due; it will see this change too
	}
}

// loop translates whenever an input changes. Changes that arrive during a translation
// coalesce into one more.
func (r *gatewayRun) loop() {
	defer r.wg.Done()
	if err := collection.WaitSynced(r.ctx, r.inputs.all()...); err != nil {
		return
	}
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.dirty:
		}
		start := time.Now()
		res := gatewayapi.Translate(r.inputs.snapshot(r.agent.translationInput()))
		r.apply(res)
		r.logger.Debug("gateway translated", zap.Int("gateways", len(res.Gateways)), zap.Duration("took", time.Since(start)))
	}
}

// apply serves a translation: new tables are compiled and swapped in port by port, then
// the listeners wanted are handed to RunForEach, then the statuses to the reporter.
func (r *gatewayRun) apply(res *gatewayapi.Result) {
	var specs []portSpec
	keep := make(map[string]bool)
	for _, gw := range res.Gateways {
		for _, p := range gw.Ports {
			spec := portSpec{Key: gw.Key() + ":" + strconv.Itoa(int(p.Port)), Gateway: gw.Key(), Port: p.Port, Protocol: p.Protocol, Bind: r.bindAddress(p.Port)}
			st := r.state(spec)
			st.update(r.compiler, p)
			specs = append(specs, spec)
			keep[spec.Key] = true
		}
	}
	r.specs.Reset(specs)
	r.mu.Lock()
	for k, st := range r.states {
		if !keep[k] {
			st.router.swap(nil)
			delete(r.states, k)
		}
	}
	r.mu.Unlock()
	r.status.submit(res)
}

func (r *gatewayRun) bindAddress(port int32) string {
	if r.agent.EphemeralPorts {
		port = 0
	}
	return net.JoinHostPort(r.agent.ListenHost, strconv.Itoa(int(port)))
}

// state returns the port's state, creating it (with its spec) on first use.
func (r *gatewayRun) state(spec portSpec) *portState {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.states[spec.Key]
	if !ok || st.spec != spec {
		if ok {
			st.router.swap(nil)
		}
		st = &portState{spec: spec, logger: r.logger.With(zap.String("listener", spec.Key))}
		r.states[spec.Key] = st
	}
	return st
}

// update compiles and swaps the port's table if it changed, and its certificates.
func (st *portState) update(c *compiler, p *gatewayapi.Port) {
	st.certs.set(p.Certificates, st.logger)
	st.mu.Lock()
	same := st.table != nil && reflect.DeepEqual(st.table, p.Table)
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
