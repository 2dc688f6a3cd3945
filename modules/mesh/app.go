// Package mesh is the Caddy app "mesh": the registry of the mesh's collections, the sources
// that feed them, and what consumers (routers, node agents, control planes) use to reach
// them.
package mesh

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

func init() {
	caddy.RegisterModule(new(App))
}

// App is the mesh app. It loads the configured sources, publishes their collections under
// "<source>/<kind>", and builds the merged views "merged/<kind>" across sources. Consumers
// get it with [FromContext] and look collections up with [Get].
type App struct {
	// Sources feed the mesh's collections, by source name. A source named "local" publishes
	// "local/services", "local/pods", and so on. Each entry names its module in the "source"
	// field ("file", "kubernetes", "xds"). The name "merged" is reserved, and names may not
	// contain "/". Default: no sources, and every merged collection empty.
	SourcesRaw map[string]json.RawMessage `json:"sources,omitempty" caddy:"namespace=mesh.sources inline_key=source"`

	// Node is the name of the Kubernetes node (or, for the file source, the "node" that
	// manifests put Pods on with spec.nodeName) this process runs on. Node agents serve the
	// Pods of this node. Usually set from the environment: "{env.NODE_NAME}". Default: none,
	// which node agents refuse.
	Node string `json:"node,omitempty"`

	// Identity is where workload certificates come from: the module in namespace
	// mesh.identity named by the "ca" field, such as {"ca": "internal"}. Default: none;
	// node agents that tunnel between nodes require it.
	IdentityRaw json.RawMessage `json:"identity,omitempty" caddy:"namespace=mesh.identity inline_key=ca"`

	// Agents are the node's long-running parts, by module name in namespace mesh.agents,
	// such as "meshless" for the Meshless node agent. Default: none.
	AgentsRaw caddy.ModuleMap `json:"agents,omitempty" caddy:"namespace=mesh.agents"`

	node     string
	sources  map[string]Source // by name, for status writing
	identity Identity
	agents   map[string]Agent

	registry   *Registry
	stopMerged func()
	logger     *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (*App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "mesh",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision loads the sources and publishes their collections.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	a.registry = newRegistry()
	declareBuiltinKinds(a.registry)

	names := make([]string, 0, len(a.SourcesRaw))
	for name := range a.SourcesRaw {
		if err := validSourceName(name); err != nil {
			return err
		}
		names = append(names, name)
	}
	slices.Sort(names)

	mods, err := ctx.LoadModule(a, "SourcesRaw")
	if err != nil {
		return fmt.Errorf("loading mesh sources: %w", err)
	}
	a.sources = make(map[string]Source, len(names))
	for _, name := range names {
		src, ok := mods.(map[string]any)[name].(Source)
		if !ok {
			return fmt.Errorf("mesh source %q: module %T is not a mesh source", name, mods.(map[string]any)[name])
		}
		if err := src.Publish(&Publisher{source: name, reg: a.registry}); err != nil {
			return fmt.Errorf("publishing collections of mesh source %q: %w", name, err)
		}
		a.sources[name] = src
	}

	if a.stopMerged, err = a.registry.buildMerged(); err != nil {
		return fmt.Errorf("building merged collections: %w", err)
	}
	if err := registerMetrics(ctx, a.registry); err != nil {
		return fmt.Errorf("registering mesh metrics: %w", err)
	}
	return a.provisionNode(ctx)
}

// provisionNode loads the identity and the agents, after the collections they work from.
func (a *App) provisionNode(ctx caddy.Context) error {
	a.node = caddy.NewReplacer().ReplaceKnown(a.Node, "")
	if a.IdentityRaw != nil {
		mod, err := ctx.LoadModule(a, "IdentityRaw")
		if err != nil {
			return fmt.Errorf("loading mesh identity: %w", err)
		}
		id, ok := mod.(Identity)
		if !ok {
			return fmt.Errorf("mesh identity: module %T does not implement mesh.Identity", mod)
		}
		a.identity = id
	}
	if a.AgentsRaw != nil {
		mods, err := ctx.LoadModule(a, "AgentsRaw")
		if err != nil {
			return fmt.Errorf("loading mesh agents: %w", err)
		}
		a.agents = make(map[string]Agent)
		for name, mod := range mods.(map[string]any) {
			ag, ok := mod.(Agent)
			if !ok {
				return fmt.Errorf("mesh agent %q: module %T does not implement mesh.Agent", name, mod)
			}
			a.agents[name] = ag
		}
	}
	return nil
}

func validSourceName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("mesh source with an empty name")
	case name == model.MergedSource:
		return fmt.Errorf("mesh source name %q is reserved for the merged collections", name)
	case strings.ContainsAny(name, "/?#"):
		return fmt.Errorf("mesh source name %q: must not contain '/', '?' or '#'", name)
	}
	return nil
}

// Start logs what the mesh holds; sources start watching when provisioned, so that a reload
// can hand their state over before the old config stops.
func (a *App) Start() error {
	a.logger.Info("mesh started", zap.Strings("collections", a.registry.Names()), zap.String("node", a.node))
	names := a.agentNames()
	for i, name := range names {
		if err := a.agents[name].Start(a); err != nil {
			for _, started := range names[:i] {
				_ = a.agents[started].Stop()
			}
			return fmt.Errorf("starting mesh agent %q: %w", name, err)
		}
	}
	return nil
}

// Stop stops the agents. The sources' state is released in Cleanup, after the next config
// (if any) has taken it over.
func (a *App) Stop() error {
	var errs []error
	for _, name := range a.agentNames() {
		if err := a.agents[name].Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping mesh agent %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (a *App) agentNames() []string {
	names := make([]string, 0, len(a.agents))
	for name := range a.agents {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// NodeName returns the node this process runs on, with placeholders such as
// {env.NODE_NAME} replaced; "" when not configured.
func (a *App) NodeName() string { return a.node }

// Identity returns the mesh's workload identity provider, or nil when none is configured.
func (a *App) Identity() Identity { return a.identity }

// Cleanup detaches the merged views. The sources clean up themselves.
func (a *App) Cleanup() error {
	if a.stopMerged != nil {
		a.stopMerged()
	}
	return nil
}

// Registry returns the app's collections.
func (a *App) Registry() *Registry { return a.registry }

// FromContext returns the config's mesh app, provisioning it if needed. A config without a
// mesh app gets an empty one, whose merged collections exist and stay empty.
func FromContext(ctx caddy.Context) (*App, error) {
	app, err := ctx.App("mesh")
	if err != nil {
		return nil, fmt.Errorf("getting the mesh app: %w", err)
	}
	return app.(*App), nil
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
