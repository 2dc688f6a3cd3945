package httproute

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	discoveryv1 "k8s.io/api/discovery/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

func init() {
	caddy.RegisterModule(new(GatewayAgent))
}

// GatewayAgent is mesh.agents.gateway: a Gateway API controller and its data plane. It
// serves the GatewayClasses whose controllerName is its own (caddymesh.io/gateway), opens
// one listener per port of each accepted Gateway (HTTP, and HTTPS with the certificates
// of its listeners' Secrets), serves the HTTPRoutes attached to it, and writes the
// conditions of the classes, Gateways and routes back through the sources.
//
// Everything follows the mesh's collections: a Gateway or route change swaps compiled
// tables and opens or closes listeners, with no Caddy config reload.
type GatewayAgent struct {
	// ControllerName is the GatewayClass controllerName served. Default:
	// "caddymesh.io/gateway".
	ControllerName string `json:"controller_name,omitempty"`

	// Classes limits the GatewayClasses served to these names. Default: every class with
	// the controller name.
	Classes []string `json:"classes,omitempty"`

	// Source is the source whose collections are read: "merged" (every source) by
	// default, or a source's name.
	Source string `json:"source,omitempty"`

	// ListenHost is the host the listeners bind: an IP address, or empty for every
	// interface (the default).
	ListenHost string `json:"listen_host,omitempty"`

	// EphemeralPorts binds every listener to a port the system picks instead of the
	// Gateway listener's port, for tests and for running unprivileged; GET
	// /mesh/gateways on the admin endpoint shows where each listener is bound. Default:
	// false.
	EphemeralPorts bool `json:"ephemeral_ports,omitempty"`

	// PortMap binds a Gateway listener port to another port, by listener port: {"80":
	// 8080, "443": 8443} lets a gateway that runs unprivileged serve Gateways that listen
	// on 80 and 443, behind a Service that maps them back. Default: every port as is.
	PortMap map[string]int `json:"port_map,omitempty"`

	// Addresses are reported in each Gateway's status.addresses: IP addresses, or host
	// names. The placeholders {gateway.name} and {gateway.namespace} are replaced, and
	// so are Caddy's global placeholders such as {env.POD_IP}.
	// Default: listen_host if it is a specific IP address; otherwise none, and Gateways
	// are not Programmed (reason AddressNotAssigned).
	Addresses []string `json:"addresses,omitempty"`

	ctx       caddy.Context
	logger    *zap.Logger
	addresses []string // Addresses with global placeholders replaced

	mu      sync.Mutex // guards the fields below
	running *gatewayRun
}

// CaddyModule returns the Caddy module information.
func (*GatewayAgent) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "mesh.agents.gateway",
		New: func() caddy.Module { return new(GatewayAgent) },
	}
}

// Provision applies defaults; the controller starts in Start, when the mesh app is whole.
func (g *GatewayAgent) Provision(ctx caddy.Context) error {
	g.ctx = ctx
	g.logger = ctx.Logger()
	if g.ControllerName == "" {
		g.ControllerName = string(gatewayapi.ControllerName)
	}
	if g.Source == "" {
		g.Source = model.MergedSource
	}
	repl := caddy.NewReplacer()
	g.addresses = make([]string, len(g.Addresses))
	for i, a := range g.Addresses {
		g.addresses[i] = repl.ReplaceKnown(a, "")
	}
	return provisionEvents(ctx)
}

// bindPort is the port a Gateway listener port is bound to.
func (g *GatewayAgent) bindPort(port int32) int32 {
	if g.EphemeralPorts {
		return 0
	}
	if p, ok := g.PortMap[strconv.Itoa(int(port))]; ok {
		return int32(p)
	}
	return port
}

// provisionEvents loads the config's events app now: reverse_proxy handlers, which the
// router provisions later in the background, look it up, and the first lookup of an app
// writes to the config's app map, which must not happen while Caddy starts the apps.
func provisionEvents(ctx caddy.Context) error {
	if _, err := ctx.App("events"); err != nil {
		return fmt.Errorf("loading the events app: %w", err)
	}
	return nil
}

// Validate checks the settings.
func (g *GatewayAgent) Validate() error {
	if g.ListenHost != "" && net.ParseIP(g.ListenHost) == nil && g.ListenHost != "localhost" {
		return fmt.Errorf("listen_host %q: must be an IP address", g.ListenHost)
	}
	if strings.Count(g.ControllerName, "/") != 1 {
		return fmt.Errorf("controller_name %q: must be domain/path", g.ControllerName)
	}
	for from, to := range g.PortMap {
		if p, err := strconv.Atoi(from); err != nil || p < 1 || p > 65535 || to < 1 || to > 65535 {
			return fmt.Errorf("port_map %s: %d: ports must be from 1 to 65535", from, to)
		}
	}
	return nil
}

// runs pools the agents' running state by config, across config reloads.
var runs = caddy.NewUsagePool()

// poolKey identifies the settings a run is made for.
func (g *GatewayAgent) poolKey() string {
	b, _ := json.Marshal(g) // exported settings only: plain data
	return "gateway:" + string(b)
}

// Start attaches the app's collections to the pooled run: the first config of these
// settings starts it; a reload hands it over without closing a listener.
func (g *GatewayAgent) Start(app *mesh.App) error {
	reg := app.Registry()
	inputs, err := lookupGatewayInputs(reg, g.Source)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	slices, err := mesh.Get[*discoveryv1.EndpointSlice](reg, model.CollectionName(g.Source, model.EndpointSlices))
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	var clas collection.Collection[*resource.ClusterLoadAssignment]
	if c, err := mesh.Get[*resource.ClusterLoadAssignment](reg, model.CollectionName(g.Source, model.ClusterLoadAssignments)); err == nil {
		clas = c
	}
	v, _, err := runs.LoadOrNew(g.poolKey(), func() (caddy.Destructor, error) { return newGatewayRun(g), nil })
	if err != nil {
		return err
	}
	run := v.(*gatewayRun)
	g.mu.Lock()
	g.running = run
	g.mu.Unlock()
	runningGateways.Store(run, struct{}{})
	run.attach(g, app, inputs, NewEndpoints(slices, clas))
	return nil
}

// Stop detaches this config from the run, unless a newer config has attached already.
func (g *GatewayAgent) Stop() error {
	g.mu.Lock()
	run := g.running
	g.mu.Unlock()
	if run != nil {
		run.detach(g)
	}
	return nil
}

// Cleanup lets go of the run; the last config to do so closes its listeners.
func (g *GatewayAgent) Cleanup() error {
	g.mu.Lock()
	run := g.running
	g.running = nil
	g.mu.Unlock()
	if run == nil {
		return nil
	}
	deleted, err := runs.Delete(g.poolKey())
	if deleted {
		runningGateways.Delete(run)
	}
	return err
}

// translationInput is the fixed part of every translation's input.
func (g *GatewayAgent) translationInput() gatewayapi.Input {
	return gatewayapi.Input{
		ControllerName: gatewayv1.GatewayController(g.ControllerName),
		ClassNames:     g.Classes,
		Addresses:      g.addressesOf,
	}
}

// addressesOf is a Gateway's status addresses.
func (g *GatewayAgent) addressesOf(namespace, name string) []gatewayv1.GatewayStatusAddress {
	values := g.addresses
	if len(values) == 0 {
		if ip := net.ParseIP(g.ListenHost); ip != nil && !ip.IsUnspecified() {
			values = []string{g.ListenHost}
		}
	}
	out := make([]gatewayv1.GatewayStatusAddress, 0, len(values))
	r := strings.NewReplacer("{gateway.name}", name, "{gateway.namespace}", namespace)
	for _, v := range values {
		v = r.Replace(v)
		t := gatewayv1.HostnameAddressType
		if net.ParseIP(v) != nil {
			t = gatewayv1.IPAddressType
		}
		out = append(out, gatewayv1.GatewayStatusAddress{Type: &t, Value: v})
	}
	return out
}

// runningGateways are the started agents, for the admin endpoint.
var runningGateways sync.Map // *gatewayRun → struct{}

// ListenerInfo is one open Gateway listener, as GET /mesh/gateways shows it.
type ListenerInfo struct {
	Gateway  string `json:"gateway"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	Address  string `json:"address"`
	Routes   int    `json:"virtual_hosts"`
}

// listeners returns every running agent's open listeners, sorted.
func listeners() []ListenerInfo {
	var out []ListenerInfo
	runningGateways.Range(func(k, _ any) bool {
		out = append(out, k.(*gatewayRun).listenerInfos()...)
		return true
	})
	slices.SortFunc(out, func(a, b ListenerInfo) int {
		if c := strings.Compare(a.Gateway, b.Gateway); c != 0 {
			return c
		}
		return int(a.Port - b.Port)
	})
	return out
}

// statusTimeout bounds one status write.
const statusTimeout = 10 * time.Second

// Interface guards
var (
	_ caddy.Provisioner  = (*GatewayAgent)(nil)
	_ caddy.Validator    = (*GatewayAgent)(nil)
	_ caddy.CleanerUpper = (*GatewayAgent)(nil)
	_ mesh.Agent         = (*GatewayAgent)(nil)
)
