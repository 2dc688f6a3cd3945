// Package file is the mesh source "file": a cluster described in Kubernetes-style YAML
// manifests on disk, the embedded default that needs no cluster.
package file

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

func init() {
	caddy.RegisterModule(new(Source))
}

// pool holds each file source's loader across config reloads, keyed by the source's name and
// configuration: a reload that leaves a source unchanged reuses its collections and watcher
// rather than re-reading the files.
var pool = caddy.NewUsagePool()

// DefaultDebounce is how long the source waits after a change on disk for more to follow.
const DefaultDebounce = caddy.Duration(100 * time.Millisecond)

// Source reads Kubernetes-style YAML manifests (Services, EndpointSlices, Pods, Namespaces,
// Meshlets, TLS Secrets, HTTPFilters, and Gateway API GatewayClasses, Gateways, HTTPRoutes,
// TLSRoutes and ReferenceGrants) and publishes one collection per kind. It watches the files
// and applies changes within a second, a burst of writes making one update. A broken
// document is reported with its file, document index and field; the other documents still
// load, and the objects of a file that an edit broke keep their last good version.
//
// Controllers' status reports (mesh.StatusWriter) are kept in memory with the collections,
// and listed by the admin API's GET /mesh/status (mesh.StatusLister).
type Source struct {
	// Paths are files, directories and glob patterns of manifests. A directory stands for the
	// *.yaml, *.yml and *.json files directly in it. Relative paths are relative to Caddy's
	// working directory. Required.
	Paths []string `json:"paths,omitempty"`

	// Debounce is how long to wait after a change for more changes before re-reading, so
	// that an editor's or a deployment's burst of writes makes one update. Changes are
	// applied at most one second after the first of a burst, however long it lasts.
	// Default: 100ms.
	Debounce caddy.Duration `json:"debounce,omitempty"`

	// Watch turns watching for changes on or off. Default: on.
	Watch *bool `json:"watch,omitempty"`

	// name is the source name the Caddyfile gave, if any; in JSON the name is the key.
	name string

	abs     []string
	logger  *zap.Logger
	poolKey string
	loader  *loader
}

// CaddyModule returns the Caddy module information.
func (*Source) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "mesh.sources.file",
		New: func() caddy.Module { return new(Source) },
	}
}

// Provision resolves the paths.
func (s *Source) Provision(ctx caddy.Context) error {
	s.logger = ctx.Logger()
	if s.Debounce <= 0 {
		s.Debounce = DefaultDebounce
	}
	repl := caddy.NewReplacer()
	s.abs = make([]string, len(s.Paths))
	for i, p := range s.Paths {
		p = repl.ReplaceKnown(p, "")
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("resolving path %q: %w", p, err)
		}
		s.abs[i] = abs
	}
	return nil
}

// Validate checks the configuration.
func (s *Source) Validate() error {
	if len(s.Paths) == 0 {
		return fmt.Errorf("file source: no paths")
	}
	for _, p := range s.abs {
		if _, err := filepath.Match(filepath.Base(p), ""); err != nil {
			return fmt.Errorf("file source: bad pattern %q: %w", p, err)
		}
	}
	return nil
}

// Publish loads the manifests (or takes over the loader of an unchanged previous config)
// and publishes one collection per kind.
func (s *Source) Publish(p *mesh.Publisher) error {
	cfg, err := json.Marshal(struct {
		Name     string         `json:"name"`
		Paths    []string       `json:"paths"`
		Debounce caddy.Duration `json:"debounce"`
		Watch    bool           `json:"watch"`
	}{p.Source(), s.abs, s.Debounce, s.watching()})
	if err != nil {
		return fmt.Errorf("computing the source's identity: %w", err)
	}
	s.poolKey = "mesh.sources.file:" + string(cfg)
	val, loaded, err := pool.LoadOrNew(s.poolKey, func() (caddy.Destructor, error) {
		return startLoader(loaderConfig{
			source:   p.Source(),
			paths:    s.abs,
			debounce: time.Duration(s.Debounce),
			watch:    s.watching(),
			logger:   s.logger,
		})
	})
	if err != nil {
		s.poolKey = ""
		return fmt.Errorf("loading manifests: %w", err)
	}
	s.loader = val.(*loader)
	if loaded {
		s.logger.Debug("reusing the loader of the previous config", zap.String("source", p.Source()))
	}
	return s.loader.publish(p)
}

func (s *Source) watching() bool { return s.Watch == nil || *s.Watch }

// Cleanup releases this config's hold on the loader; the last holder stops it.
func (s *Source) Cleanup() error {
	if s.poolKey == "" {
		return nil
	}
	_, err := pool.Delete(s.poolKey)
	return err
}

// Interface guards
var (
	_ caddy.Provisioner  = (*Source)(nil)
	_ caddy.Validator    = (*Source)(nil)
	_ caddy.CleanerUpper = (*Source)(nil)
	_ mesh.Source        = (*Source)(nil)
)
