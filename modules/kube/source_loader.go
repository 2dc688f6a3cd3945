package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/connrotation"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"

	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// loaderConfig is what a running source is made from.
type loaderConfig struct {
	source string
	rest   *rest.Config
	// namespaces to watch namespaced kinds in; empty for all.
	namespaces []string
	// labelSelectors narrow kinds, by kind name.
	labelSelectors map[string]string
	// node, if set, narrows Pods to those scheduled on it.
	node string
	// kinds to watch; empty for every kind the API server serves. A kind listed here is
	// watched even if its API is not served yet (its CRD may be installed later).
	kinds  []string
	logger *zap.Logger
}

// watched is a resource the source reads, as the health transport needs it.
type watched struct {
	store      kindStore
	namespaced bool
}

// loader runs a source's informers and feeds its collections. It outlives Caddy configs
// whose source config is unchanged (see the pool in source.go).
type loader struct {
	cfg    loaderConfig
	kinds  []string
	stores map[string]kindStore
	byGR   map[schema.GroupResource]watched // for the health transport

	// client is the source's generic client, on the source's own connections: the
	// informers of caddymesh's CRDs read through it, and status writes go through it, so
	// that every config sharing the pooled source shares it too.
	client *Client

	cancel context.CancelFunc
	done   chan struct{}
}

const (
	// defaultQPS and defaultBurst replace client-go's 5 and 10: a source starts one list
	// per kind and namespace at once, and should not wait seconds for its own throttle.
	defaultQPS   = 50
	defaultBurst = 100

	discoveryID = "discovery"
)

func startLoader(cfg loaderConfig) (*loader, error) {
	l := &loader{
		cfg:    cfg,
		kinds:  cfg.kinds,
		stores: make(map[string]kindStore),
		byGR:   make(map[schema.GroupResource]watched),
		done:   make(chan struct{}),
	}
	if len(l.kinds) == 0 {
		l.kinds = KindNames()
	}
	for _, kind := range l.kinds {
		def, ok := kindDefByName(kind)
		if !ok {
			return nil, fmt.Errorf("unknown kind %q (known: %v)", kind, KindNames())
		}
		groups := make([]string, len(def.resources))
		for i, gvr := range def.resources {
			groups[i] = gvr.Group
		}
		st := def.newStore(cfg.source, kind, groups, cfg.logger)
		l.stores[kind] = st
		for _, gvr := range def.resources {
			l.byGR[gvr.GroupResource()] = watched{store: st, namespaced: def.namespaced}
		}
	}

	rc := rest.CopyConfig(cfg.rest)
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = defaultQPS, defaultBurst
	}
	if rc.UserAgent == "" {
		rc.UserAgent = "caddymesh/" + cfg.source
	}
	rc.Wrap(l.watchHealth)
	// The source's own dialer, which also keeps client-go from sharing a cached transport
	// with other clients: stopping closes every connection the source opened, so none
	// (nor its HTTP/2 reader goroutine) outlives it, whatever state its streams were in.
	dialer := connrotation.NewDialer((&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext)
	rc.Dial = dialer.DialContext
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return nil, fmt.Errorf("creating the HTTP client: %w", err)
	}
	cs, err := kubernetes.NewForConfigAndClient(rc, hc)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	gw, err := gatewayclient.NewForConfigAndClient(rc, hc)
	if err != nil {
		return nil, fmt.Errorf("creating the Gateway API client: %w", err)
	}
	client, err := NewClient(rc)
	if err != nil {
		return nil, fmt.Errorf("creating the generic client: %w", err)
	}
	l.client = client
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() {
		l.run(ctx, cs, gw, client)
		dialer.CloseAll()
		close(l.done)
	}()
	return l, nil
}

// Destruct stops the informers and waits for them; it implements caddy.Destructor.
func (l *loader) Destruct() error {
	l.cancel()
	<-l.done
	loaders.Delete(l)
	return nil
}

func (l *loader) publish(p *mesh.Publisher) error {
	for _, kind := range l.kinds {
		if err := l.stores[kind].publish(p); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) run(ctx context.Context, cs kubernetes.Interface, gw gatewayclient.Interface, client *Client) {
	served, ok := l.discover(ctx, cs.Discovery())
	if !ok {
		return
	}

	var (
		coreFactories    = map[string]informers.SharedInformerFactory{}
		gatewayFactories = map[string]gatewayinformers.SharedInformerFactory{}
		unmanaged        []cache.SharedIndexInformer
		wg               sync.WaitGroup
	)
	deps := func(ns string) informerDeps {
		if _, ok := coreFactories[ns]; !ok {
			coreFactories[ns] = informers.NewSharedInformerFactoryWithOptions(cs, 0,
				informers.WithNamespace(ns), informers.WithTransform(trim))
			gatewayFactories[ns] = gatewayinformers.NewSharedInformerFactoryWithOptions(gw, 0,
				gatewayinformers.WithNamespace(ns), gatewayinformers.WithTransform(trim))
		}
		return informerDeps{core: coreFactories[ns], gateway: gatewayFactories[ns], client: client}
	}
	namespaces := l.cfg.namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	explicit := len(l.cfg.kinds) > 0

	syncs := make(map[string][]cache.InformerSynced)
	for _, kind := range l.kinds {
		def, _ := kindDefByName(kind)
		st := l.stores[kind]
		for i, gvr := range def.resources {
			// A kind the user asked for is watched even before its CRD is installed, and
			// shows the API server's error until then. By default, and for Meshlets'
			// compatibility group always, a resource the server lacks is left out.
			if !served[gvr] && (!explicit || i > 0) {
				l.cfg.logger.Info("not watching a resource the API server does not serve",
					zap.String("kind", kind), zap.Stringer("resource", gvr))
				continue
			}
			nss := namespaces
			if !def.namespaced {
				nss = []string{metav1.NamespaceAll}
			}
			for _, ns := range nss {
				inf, managed := def.informer(deps(ns), gvr, ns, l.tweak(kind))
				id := informerID(gvr.GroupResource(), ns, def.namespaced)
				if err := inf.SetWatchErrorHandlerWithContext(l.watchErrorHandler(st, id)); err != nil {
					l.cfg.logger.Error("setting the watch error handler", zap.String("informer", id), zap.Error(err))
				}
				if !managed {
					if err := inf.SetTransform(trim); err != nil {
						l.cfg.logger.Error("setting the transform", zap.String("informer", id), zap.Error(err))
					}
					unmanaged = append(unmanaged, inf)
				}
				reg, err := inf.AddEventHandler(st.handler(gvr.Group))
				if err != nil {
					st.setStreamError(id, fmt.Errorf("%s: adding the event handler: %w", id, err))
					continue
				}
				syncs[kind] = append(syncs[kind], reg.HasSynced)
			}
		}
	}

	for ns := range coreFactories {
		coreFactories[ns].Start(ctx.Done())
		gatewayFactories[ns].Start(ctx.Done())
	}
	for _, inf := range unmanaged {
		wg.Add(1)
		go func() { defer wg.Done(); inf.RunWithContext(ctx) }()
	}
	for _, kind := range l.kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cache.WaitForCacheSync(ctx.Done(), syncs[kind]...) {
				l.stores[kind].markSynced()
			}
		}()
	}

	<-ctx.Done()
	for ns := range coreFactories {
		coreFactories[ns].Shutdown()
		gatewayFactories[ns].Shutdown()
	}
	wg.Wait()
}

// tweak narrows a kind's informers by the configured label selector, the kind's own field
// selector (TLS Secrets: their type) and, for Pods, the node.
func (l *loader) tweak(kind string) tweakFunc {
	sel := l.cfg.labelSelectors[kind]
	var terms []string
	if def, _ := kindDefByName(kind); def.fieldSelector != "" {
		terms = append(terms, def.fieldSelector)
	}
	if kind == model.Pods && l.cfg.node != "" {
		terms = append(terms, fields.OneTermEqualSelector("spec.nodeName", l.cfg.node).String())
	}
	field := strings.Join(terms, ",")
	if sel == "" && field == "" {
		return nil
	}
	return func(o *metav1.ListOptions) {
		o.LabelSelector = sel
		o.FieldSelector = field
	}
}

// discover asks the API server which of the source's resources it serves, retrying until
// it answers; ok is false if the source stopped first. Until then every collection shows
// the discovery error.
func (l *loader) discover(ctx context.Context, disc discovery.DiscoveryInterface) (served map[schema.GroupVersionResource]bool, ok bool) {
	var gvs []schema.GroupVersion
	for _, kind := range l.kinds {
		def, _ := kindDefByName(kind)
		for _, gvr := range def.resources {
			if !slices.Contains(gvs, gvr.GroupVersion()) {
				gvs = append(gvs, gvr.GroupVersion())
			}
		}
	}
	delay := 500 * time.Millisecond
	for {
		served, err := servedResources(disc, gvs)
		for _, st := range l.stores {
			st.setStreamError(discoveryID, err)
		}
		if err == nil {
			return served, true
		}
		l.cfg.logger.Warn("discovering the API server's resources; retrying", zap.Duration("in", delay), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

func servedResources(disc discovery.DiscoveryInterface, gvs []schema.GroupVersion) (map[schema.GroupVersionResource]bool, error) {
	served := make(map[schema.GroupVersionResource]bool)
	for _, gv := range gvs {
		list, err := disc.ServerResourcesForGroupVersion(gv.String())
		if apierrors.IsNotFound(err) {
			continue // the group is not installed
		}
		if err != nil {
			return nil, fmt.Errorf("discovering the API server's resources: %s: %w", gv, err)
		}
		for _, r := range list.APIResources {
			served[gv.WithResource(r.Name)] = true
		}
	}
	return served, nil
}

// watchErrorHandler records why an informer's list or watch ended, and logs it through zap
// rather than klog. The next successful request of the informer clears it (watchHealth).
func (l *loader) watchErrorHandler(st kindStore, id string) cache.WatchErrorHandlerWithContext {
	return func(ctx context.Context, _ *cache.Reflector, err error) {
		if ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return // the source is stopping
		}
		st.setStreamError(id, fmt.Errorf("%s: %w", id, err))
		level := zap.WarnLevel
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			// Expected: the informer re-lists, and the error clears when it has.
			level = zap.InfoLevel
		}
		l.cfg.logger.Log(level, "list/watch ended", zap.String("informer", id), zap.Error(err))
	}
}

// informerID names an informer in errors and logs.
func informerID(gr schema.GroupResource, ns string, namespaced bool) string {
	switch {
	case !namespaced:
		return gr.String()
	case ns == metav1.NamespaceAll:
		return gr.String() + " in all namespaces"
	default:
		return gr.String() + " in namespace " + ns
	}
}

// rejected returns how many objects of each kind were skipped as unusable.
func (l *loader) rejected() map[string]uint64 {
	out := make(map[string]uint64, len(l.stores))
	for kind, st := range l.stores {
		out[kind] = st.rejected()
	}
	return out
}
