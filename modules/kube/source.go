package kube

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

func init() {
	caddy.RegisterModule(new(Source))
}

// pool holds each Kubernetes source's informers across config reloads, keyed by the
// source's name and configuration: a reload that leaves a source unchanged hands the new
// config the same collections, with no re-list and no new watch.
var pool = caddy.NewUsagePool()

// Source is the mesh source "kubernetes": a Kubernetes API server read with client-go's
// informers (the shared informer factory, and gateway-api's generated informers). It
// publishes one collection per kind, with the same names and Go types as the file
// source's: services, endpointslices, pods, namespaces, meshlets (from
// meshless.caddymesh.io/v1, and from ext.burningxflame.github.com/v1 where that CRD is
// installed), gatewayclasses, gateways, httproutes, tlsroutes, referencegrants, tlssecrets
// (Secrets of type kubernetes.io/tls only, selected on the server by field selector, so no
// other Secret is ever read) and httpfilters (gateway.caddymesh.io/v1alpha1).
//
// It writes status back too (mesh.StatusWriter): the Gateway API status a controller
// reports through mesh.App.WriteStatus is applied to the object's status subresource, for
// the objects its collections hold.
//
// Objects are trimmed once, as they arrive, to what consumers read (managedFields and the
// last-applied annotation go; Pods keep only their metadata, placement, container ports
// and readiness), so memory stays small at scale. Collections keep their last state while
// the API server is unreachable, and show why in their last error.
type Source struct {
	// Kubeconfig is the path of a kubeconfig file. Default: the files in $KUBECONFIG, then
	// ~/.kube/config, then the in-cluster service account of the Pod Caddy runs in.
	Kubeconfig string `json:"kubeconfig,omitempty"`

	// Context is the kubeconfig context to use. Default: the kubeconfig's current context.
	Context string `json:"context,omitempty"`

	// Namespaces limits the namespaced kinds to these namespaces, one informer each, so
	// that the source needs read access only there (a Role per namespace). Default: all
	// namespaces. Cluster-scoped kinds (namespaces, gatewayclasses) are read whole.
	Namespaces []string `json:"namespaces,omitempty"`

	// LabelSelectors narrows kinds to the objects matching a label selector, by kind, in
	// kubectl's syntax: {"pods": "meshless/meshlet"} keeps only Pods that belong to a
	// meshlet.
	LabelSelectors map[string]string `json:"label_selectors,omitempty"`

	// Node keeps only the Pods scheduled on this node (spec.nodeName), as a node agent
	// needs. Typically {env.NODE_NAME}, set from the downward API. Default: Pods on every
	// node.
	Node string `json:"node,omitempty"`

	// Kinds are the kinds to watch. Default: every kind above whose API the server serves;
	// a Gateway API or Meshlet kind whose CRD is missing is left out (and logged). A kind
	// listed here is watched even before its CRD is installed, and its collection shows
	// the API server's error until then.
	Kinds []string `json:"kinds,omitempty"`

	// name is the source name the Caddyfile gave, if any; in JSON the name is the key.
	name string

	logger  *zap.Logger
	poolKey string
	loader  *loader
}

// CaddyModule returns the Caddy module information.
func (*Source) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "mesh.sources.kubernetes",
		New: func() caddy.Module { return new(Source) },
	}
}

// Provision resolves placeholders such as {env.NODE_NAME} and registers the source's
// metrics.
func (s *Source) Provision(ctx caddy.Context) error {
	s.logger = ctx.Logger()
	repl := caddy.NewReplacer()
	s.Kubeconfig = repl.ReplaceKnown(s.Kubeconfig, "")
	s.Context = repl.ReplaceKnown(s.Context, "")
	s.Node = repl.ReplaceKnown(s.Node, "")
	for i, ns := range s.Namespaces {
		s.Namespaces[i] = repl.ReplaceKnown(ns, "")
	}
	for k, v := range s.LabelSelectors {
		s.LabelSelectors[k] = repl.ReplaceKnown(v, "")
	}
	return registerMetrics(ctx)
}

// Validate checks the configuration.
func (s *Source) Validate() error {
	for _, kind := range s.Kinds {
		if _, ok := kindDefByName(kind); !ok {
			return fmt.Errorf("kubernetes source: unknown kind %q (known: %v)", kind, KindNames())
		}
	}
	for kind, sel := range s.LabelSelectors {
		if _, ok := kindDefByName(kind); !ok {
			return fmt.Errorf("kubernetes source: label selector for unknown kind %q (known: %v)", kind, KindNames())
		}
		if _, err := labels.Parse(sel); err != nil {
			return fmt.Errorf("kubernetes source: label selector for %s: %w", kind, err)
		}
	}
	for _, ns := range s.Namespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			return fmt.Errorf("kubernetes source: namespace %q: %v", ns, msgs)
		}
	}
	if s.Node != "" {
		if msgs := validation.IsDNS1123Subdomain(s.Node); len(msgs) > 0 {
			return fmt.Errorf("kubernetes source: node %q: %v", s.Node, msgs)
		}
	}
	return nil
}

// Publish starts the informers (or takes over those of an unchanged previous config) and
// publishes one collection per kind. It does not wait for the API server: collections
// report synced once their informers have listed.
func (s *Source) Publish(p *mesh.Publisher) error {
	namespaces := append([]string(nil), s.Namespaces...)
	sort.Strings(namespaces)
	cfg, err := json.Marshal(struct {
		Name       string            `json:"name"`
		Kubeconfig string            `json:"kubeconfig"`
		Context    string            `json:"context"`
		Namespaces []string          `json:"namespaces"`
		Selectors  map[string]string `json:"selectors"` // encoding/json sorts map keys
		Node       string            `json:"node"`
		Kinds      []string          `json:"kinds"`
	}{p.Source(), s.Kubeconfig, s.Context, namespaces, s.LabelSelectors, s.Node, s.Kinds})
	if err != nil {
		return fmt.Errorf("computing the source's identity: %w", err)
	}
	s.poolKey = "mesh.sources.kubernetes:" + string(cfg)
	val, loaded, err := pool.LoadOrNew(s.poolKey, func() (caddy.Destructor, error) {
		kc, err := s.kubeConfig()
		if err != nil {
			return nil, err
		}
		l, err := startLoader(loaderConfig{
			source:         p.Source(),
			rest:           kc.RESTConfig(),
			namespaces:     namespaces,
			labelSelectors: s.LabelSelectors,
			node:           s.Node,
			kinds:          s.Kinds,
			logger:         s.logger,
		})
		if err != nil {
			return nil, err
		}
		trackLoader(p.Source(), l)
		return l, nil
	})
	if err != nil {
		s.poolKey = ""
		return fmt.Errorf("kubernetes source %s: %w", p.Source(), err)
	}
	s.loader = val.(*loader)
	if loaded {
		s.logger.Debug("reusing the informers of the previous config", zap.String("source", p.Source()))
	}
	return s.loader.publish(p)
}

// kubeConfig loads the client configuration the source was given, or the default one.
func (s *Source) kubeConfig() (*KubeConfig, error) {
	switch {
	case s.Kubeconfig != "":
		return LoadFile(s.Kubeconfig, s.Context)
	case s.Context != "":
		return LoadContext(s.Context)
	default:
		return LoadDefault()
	}
}

// Cleanup releases this config's hold on the informers; the last holder stops them.
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
