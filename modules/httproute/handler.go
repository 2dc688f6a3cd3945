package httproute

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"go.uber.org/zap"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/httproute/envoyroute"
	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
	"github.com/caddymesh/caddymesh/modules/httproute/table"
	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// Handler is the HTTP handler mesh_router: it serves routes compiled from the mesh's
// collections inside a site written by hand, either the HTTPRoutes attached to a Gateway's
// port or an Envoy RouteConfiguration. Route changes are compiled in the background and
// swapped in atomically; a request never waits for them, and no config reload is needed.
//
// Exactly one of gateway and route_configuration is set. The Gateway need not be served by
// the gateway agent (mesh.agents.gateway); its class must still be one the controller
// name accepts, since its routes attach by the same rules.
type Handler struct {
	// Source is the source whose collections are read: "merged" (every source) by
	// default, or a source's name.
	Source string `json:"source,omitempty"`

	// Gateway is a Gateway, as "namespace/name", whose routes are served.
	Gateway string `json:"gateway,omitempty"`
	// Port is the Gateway's listener port whose routes are served. Default: the
	// Gateway's first port.
	Port int32 `json:"port,omitempty"`
	// ControllerName is the GatewayClass controllerName the Gateway's class must have.
	// Default: "caddymesh.io/gateway".
	ControllerName string `json:"controller_name,omitempty"`

	// RouteConfiguration is the name of an xDS RouteConfiguration to serve, with the
	// Clusters it names and their ClusterLoadAssignments.
	RouteConfiguration string `json:"route_configuration,omitempty"`

	// Fallthrough passes requests that no route matches to the next handler. Default:
	// false, which answers them 404.
	Fallthrough bool `json:"fallthrough,omitempty"`

	// SyncTimeout bounds how long provisioning waits for the collections' first full view,
	// so that the first table is compiled before the handler serves (a reload must not
	// answer 404 while it catches up). A source that syncs later still fills the table.
	// Default: 10s.
	SyncTimeout caddy.Duration `json:"sync_timeout,omitempty"`

	router    Router
	logger    *zap.Logger
	endpoints *Endpoints
	compiler  *compiler
	cancel    context.CancelFunc
	unwatch   func()
	wg        sync.WaitGroup
	prev      *table.Table // the loop's last table; only the loop touches it
}

// CaddyModule returns the Caddy module information.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.mesh_router",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision looks up the collections and starts compiling.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if (h.Gateway == "") == (h.RouteConfiguration == "") {
		return errors.New("mesh_router: exactly one of gateway and route_configuration must be set")
	}
	if h.Source == "" {
		h.Source = model.MergedSource
	}
	if h.ControllerName == "" {
		h.ControllerName = string(gatewayapi.ControllerName)
	}
	if err := provisionEvents(ctx); err != nil {
		return err
	}
	app, err := mesh.FromContext(ctx)
	if err != nil {
		return err
	}
	reg := app.Registry()
	// A RouteConfiguration's clusters take their endpoints from ClusterLoadAssignments (or
	// list them); EndpointSlices serve Gateways' Service backends, and a source such as
	// xds publishes none.
	slices, err := mesh.Get[*discoveryv1.EndpointSlice](reg, model.CollectionName(h.Source, model.EndpointSlices))
	if err != nil {
		if h.Gateway != "" {
			return fmt.Errorf("mesh_router: %w", err)
		}
		none := collection.NewStatic[*discoveryv1.EndpointSlice]()
		none.MarkSynced()
		slices = none
	}
	var clas collection.Collection[*resource.ClusterLoadAssignment]
	if c, err := mesh.Get[*resource.ClusterLoadAssignment](reg, model.CollectionName(h.Source, model.ClusterLoadAssignments)); err == nil {
		clas = c
	}

	var watch func(func()) func()
	var wait []collection.Info
	var translate func() (*table.Table, []error)
	if h.Gateway != "" {
		ns, name, ok := strings.Cut(h.Gateway, "/")
		if !ok || ns == "" || name == "" {
			return fmt.Errorf("mesh_router: gateway %q must be namespace/name", h.Gateway)
		}
		inputs, err := lookupGatewayInputs(reg, h.Source)
		if err != nil {
			return fmt.Errorf("mesh_router: %w", err)
		}
		watch, wait = inputs.watch, inputs.all()
		// The cache carries the compiled routes from one translation to the next, which
		// only the loop (or Provision, before it starts) runs.
		base := gatewayapi.Input{ControllerName: gatewayv1.GatewayController(h.ControllerName), Cache: gatewayapi.NewCache()}
		translate = func() (*table.Table, []error) {
			in := inputs.snapshot(base)
			// mesh_router reports no statuses: a fixed clock lets the cache reuse those of
			// unchanged routes rather than stamp 10,000 anew.
			in.Now = metav1.Time{}
			return gatewayTable(gatewayapi.Translate(in), ns+"/"+name, h.Port), nil
		}
	} else {
		rcs, err := mesh.Get[*resource.RouteConfiguration](reg, model.CollectionName(h.Source, model.RouteConfigurations))
		if err != nil {
			return fmt.Errorf("mesh_router: %w", err)
		}
		clusters, err := mesh.Get[*resource.Cluster](reg, model.CollectionName(h.Source, model.Clusters))
		if err != nil {
			return fmt.Errorf("mesh_router: %w", err)
		}
		wait = []collection.Info{rcs, clusters}
		watch = func(changed func()) func() {
			a, b := watchAny(rcs, changed), watchAny(clusters, changed)
			return func() { a(); b() }
		}
		translate = func() (*table.Table, []error) { return envoyTable(rcs, clusters, h.RouteConfiguration) }
	}

	h.endpoints = NewEndpoints(slices, clas)
	h.compiler = newCompiler(ctx, h.endpoints, h.logger)
	runCtx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	dirty := make(chan struct{}, 1)
	h.unwatch = watch(func() {
		select {
		case dirty <- struct{}{}:
		default:
		}
	})
	// The first table is built here, before the server serves with this handler.
	timeout := time.Duration(h.SyncTimeout)
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	syncCtx, cancelSync := context.WithTimeout(runCtx, timeout)
	err = collection.WaitSynced(syncCtx, wait...)
	cancelSync()
	if err != nil {
		h.logger.Warn("collections not synced; serving what they hold", zap.Duration("waited", timeout))
	}
	h.rebuild(translate)
	h.wg.Add(1)
	go h.loop(runCtx, wait, dirty, translate)
	return nil
}

// loop recompiles after every change of the inputs; changes during a compile coalesce.
func (h *Handler) loop(ctx context.Context, wait []collection.Info, dirty <-chan struct{}, translate func() (*table.Table, []error)) {
	defer h.wg.Done()
	if err := collection.WaitSynced(ctx, wait...); err != nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-dirty:
		}
		h.rebuild(translate)
	}
}

// rebuild translates and, if the table changed, compiles and swaps it in. The compile
// takes over what the table served shares with the new one.
func (h *Handler) rebuild(translate func() (*table.Table, []error)) {
	t, errs := translate()
	for _, err := range errs {
		h.logger.Error("translating routes; the rest is served", zap.Error(err))
	}
	if t == nil {
		h.router.swap(nil)
		h.prev = nil
		return
	}
	if h.prev != nil && tablesEqual(h.prev, t) {
		return
	}
	c, errs := h.compiler.compile(t)
	for _, err := range errs {
		h.logger.Error("compiling routes; the rest is served", zap.Error(err))
	}
	h.router.swap(c)
	h.prev = t
}

// ServeHTTP routes the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	err := h.router.serve(w, r)
	if errors.Is(err, errNoRoute) {
		if h.Fallthrough {
			return next.ServeHTTP(w, r)
		}
		return caddyhttp.Error(http.StatusNotFound, err)
	}
	return err
}

// Cleanup stops compiling and releases the proxies.
func (h *Handler) Cleanup() error {
	if h.cancel != nil {
		h.unwatch()
		h.cancel()
		h.wg.Wait()
		h.router.swap(nil)
		h.compiler.close()
		h.endpoints.Stop()
	}
	return nil
}

// gatewayTable picks a Gateway port's table from a translation: the given port, or the
// Gateway's first.
func gatewayTable(res *gatewayapi.Result, key string, port int32) *table.Table {
	for _, gw := range res.Gateways {
		if gw.Key() != key {
			continue
		}
		for _, p := range gw.Ports {
			if port == 0 || p.Port == port {
				return p.Table
			}
		}
	}
	return nil
}

// envoyTable translates the named RouteConfiguration with the clusters it names.
func envoyTable(rcs collection.Collection[*resource.RouteConfiguration], clusters collection.Collection[*resource.Cluster], name string) (*table.Table, []error) {
	rc, ok := rcs.Get(name)
	if !ok {
		return nil, nil
	}
	in := envoyroute.Input{RouteConfiguration: rc.Message(), Clusters: map[string]*clusterv3.Cluster{}}
	for _, c := range clusters.List() {
		in.Clusters[c.Name()] = c.Message()
	}
	return envoyroute.Translate(in)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
