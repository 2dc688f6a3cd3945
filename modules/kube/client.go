package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/flowcontrol"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

// Client talks to one API server for any Go type registered in its scheme. It is safe for
// concurrent use. The typed verbs are package functions taking the Client (Get, List,
// Create, Update, Delete, Patch, Apply, Watch, ...), because Go methods cannot have type
// parameters.
//
// A Client is cheap to keep and expensive to make: it discovers the server's resources on
// first use, and holds an HTTP connection pool and one REST client per API group version.
// Make one per API server and share it.
type Client struct {
	s *shared
	// prefer lists the group versions this view resolves a Go type to when the scheme
	// registers the type under several (Meshlet: two groups), most preferred first.
	prefer []schema.GroupVersion
}

// shared is the state a Client and its WithGroupVersion views have in common.
type shared struct {
	config     *rest.Config // the caller's config, with the shared rate limiter set
	scheme     *runtime.Scheme
	serializer runtime.NegotiatedSerializer
	paramCodec runtime.ParameterCodec
	httpClient *http.Client
	mapper     *restmapper.DeferredDiscoveryRESTMapper

	mu      sync.Mutex
	clients map[schema.GroupVersion]*rest.RESTClient // guarded by mu
}

// ClientOption changes how NewClient builds a Client.
type ClientOption func(*clientOptions)

type clientOptions struct {
	scheme *runtime.Scheme
}

// WithScheme makes the client use scheme instead of Scheme(): for types of the caller's
// own, or to leave types out. The client reads the scheme and never changes it; the
// caller must not change it after NewClient either.
func WithScheme(scheme *runtime.Scheme) ClientOption {
	return func(o *clientOptions) { o.scheme = scheme }
}

// NewClient returns a client for the API server cfg points at. It does no network I/O:
// discovery runs on the first request, so a client can be made before the server is up
// or a CRD is installed.
//
// Every REST client the Client makes shares one HTTP client and one rate limiter, built
// from cfg's QPS and Burst with client-go's defaults (a negative QPS disables the limit),
// so that the limits hold for the Client as a whole rather than per API group.
func NewClient(cfg *rest.Config, opts ...ClientOption) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("creating a Kubernetes client: no REST config")
	}
	o := clientOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.scheme == nil {
		o.scheme = Scheme()
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	if cfg.RateLimiter == nil {
		cfg.RateLimiter = rateLimiterFor(cfg)
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the HTTP client for %s: %w", cfg.Host, err)
	}
	disc, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("creating the discovery client for %s: %w", cfg.Host, err)
	}
	codecs := serializer.NewCodecFactory(o.scheme)
	return &Client{
		s: &shared{
			config: cfg,
			scheme: o.scheme,
			// As controller-runtime does: objects are sent and received in the version
			// their Go type is registered under, with no conversion.
			serializer: serializer.WithoutConversionCodecFactory{CodecFactory: codecs},
			paramCodec: runtime.NewParameterCodec(o.scheme),
			httpClient: httpClient,
			mapper:     restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
			clients:    make(map[schema.GroupVersion]*rest.RESTClient),
		},
		// A scheme may list the compat Meshlet group first; the canonical one wins unless
		// a view says otherwise.
		prefer: []schema.GroupVersion{meshlessv1.GroupVersion},
	}, nil
}

// rateLimiterFor returns the limiter rest.RESTClientFor would make for cfg, or nil for
// none, so that all of a Client's REST clients can share it.
func rateLimiterFor(cfg *rest.Config) flowcontrol.RateLimiter {
	qps, burst := cfg.QPS, cfg.Burst
	if qps == 0 {
		qps = rest.DefaultQPS
	}
	if burst == 0 {
		burst = rest.DefaultBurst
	}
	if qps <= 0 {
		return nil
	}
	return flowcontrol.NewTokenBucketRateLimiter(qps, burst)
}

// WithGroupVersion returns a view of the client that sends a Go type registered under gv
// to gv, even when the scheme also registers it elsewhere. Use it to read and write
// Meshlets in the original Meshless group:
//
//	compat := c.WithGroupVersion(meshlessv1.CompatGroupVersion)
//	m, err := kube.Get[*meshlessv1.Meshlet](ctx, compat, "ns", "name", kube.GetOptions{})
//
// Types not registered under gv are unaffected. The view shares the client's connections,
// discovery cache and REST clients.
func (c *Client) WithGroupVersion(gv schema.GroupVersion) *Client {
	prefer := make([]schema.GroupVersion, 0, len(c.prefer)+1)
	prefer = append(prefer, gv)
	prefer = append(prefer, c.prefer...)
	return &Client{s: c.s, prefer: prefer}
}

// Scheme returns the scheme the client maps Go types with. Callers must not change it.
func (c *Client) Scheme() *runtime.Scheme { return c.s.scheme }

// RESTMapper returns the client's discovery-backed mapper between kinds and resources.
func (c *Client) RESTMapper() meta.RESTMapper { return c.s.mapper }

// Close closes the client's idle connections. A Client holds no goroutines of its own;
// Close exists so that a short-lived client does not leave keep-alive connections (and
// their reader goroutines) behind in client-go's shared transport cache. The client still
// works after Close, opening new connections as needed.
func (c *Client) Close() {
	utilnet.CloseIdleConnectionsFor(c.s.httpClient.Transport)
}

// kindFor returns the group, version and kind requests for obj's Go type go to.
func (c *Client) kindFor(obj runtime.Object) (schema.GroupVersionKind, error) {
	gvks, _, err := c.s.scheme.ObjectKinds(obj)
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("%T is not registered in the client's scheme: %w", obj, err)
	}
	for _, gv := range c.prefer {
		for _, gvk := range gvks {
			if gvk.GroupVersion() == gv {
				return gvk, nil
			}
		}
	}
	return gvks[0], nil
}

// restMapping finds the resource serving gvk. A kind the cached discovery does not know
// may belong to a CRD installed since, so the cache is dropped and read again once before
// giving up.
func (c *Client) restMapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.s.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.s.mapper.ResetWithContext(ctx)
		m, err = c.s.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("finding the API resource of %s (is its API or CRD installed?): %w", gvk, err)
	}
	return m, nil
}

// restClient returns the REST client of one group version, making it on first use.
func (c *Client) restClient(gv schema.GroupVersion) (*rest.RESTClient, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if rc, ok := c.s.clients[gv]; ok {
		return rc, nil
	}
	cfg := rest.CopyConfig(c.s.config)
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.NegotiatedSerializer = c.s.serializer
	// Each request picks protobuf or JSON by its type (see resource.protobuf); a content
	// type fixed here would apply to CRDs too, which only speak JSON.
	cfg.ContentType, cfg.AcceptContentTypes = "", ""
	rc, err := rest.RESTClientForConfigAndClient(cfg, c.s.httpClient)
	if err != nil {
		return nil, fmt.Errorf("creating the REST client for %s: %w", gv, err)
	}
	c.s.clients[gv] = rc
	return rc, nil
}
