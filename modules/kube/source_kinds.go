package kube

import (
	"fmt"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"
	gatewayinformersv1 "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions/apis/v1"

	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// tweakFunc narrows an informer's list and watch (label and field selectors).
type tweakFunc = func(*metav1.ListOptions)

// informerDeps are what an informer is built from: the watched namespace's factories (one
// per namespace, shared by every kind in it, so that their lifecycle is the factories'),
// and the generic client for types without a generated clientset.
type informerDeps struct {
	core    informers.SharedInformerFactory
	gateway gatewayinformers.SharedInformerFactory
	client  *Client
}

// newInformerFunc builds the informer of one resource in one namespace ("" for all, or for
// a cluster-scoped kind). managed says whether a factory runs it; the loader runs the
// others itself.
type newInformerFunc func(d informerDeps, gvr schema.GroupVersionResource, ns string, tweak tweakFunc) (inf cache.SharedIndexInformer, managed bool)

// kindDef is one kind the source can watch.
type kindDef struct {
	kind       string
	namespaced bool
	// resources are the API resources the kind is read from, in precedence order: Meshlets
	// come from the canonical group and from the original Meshless group.
	resources []schema.GroupVersionResource
	newStore  func(source, kind string, groups []string, logger *zap.Logger) kindStore
	informer  newInformerFunc
	// fieldSelector, if set, narrows every list and watch of the kind on the server: TLS
	// Secrets are the Secrets of one type, and no other Secret ever reaches the process.
	fieldSelector string
}

var namespaceIndexers = cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}

// gatewayGV is the Gateway API's v1 group and version (the package's own GroupVersion is a
// metav1 type, and its schema one is deprecated).
var gatewayGV = schema.GroupVersion{Group: gatewayv1.GroupName, Version: "v1"}

// kindDefs are the kinds of mesh.sources.kubernetes: the same kinds, and Go types, as the
// file source's.
var kindDefs = []kindDef{
	{
		kind: model.Services, namespaced: true,
		resources: []schema.GroupVersionResource{corev1.SchemeGroupVersion.WithResource("services")},
		newStore:  storeOf[*corev1.Service](nil),
		informer: core(&corev1.Service{}, func(c kubernetes.Interface, ns string, t tweakFunc) cache.SharedIndexInformer {
			return coreinformers.NewFilteredServiceInformer(c, ns, 0, namespaceIndexers, t)
		}),
	},
	{
		kind: model.EndpointSlices, namespaced: true,
		resources: []schema.GroupVersionResource{discoveryv1.SchemeGroupVersion.WithResource("endpointslices")},
		newStore:  storeOf[*discoveryv1.EndpointSlice](nil),
		informer: core(&discoveryv1.EndpointSlice{}, func(c kubernetes.Interface, ns string, t tweakFunc) cache.SharedIndexInformer {
			return discoveryinformers.NewFilteredEndpointSliceInformer(c, ns, 0, namespaceIndexers, t)
		}),
	},
	{
		kind: model.Pods, namespaced: true,
		resources: []schema.GroupVersionResource{corev1.SchemeGroupVersion.WithResource("pods")},
		newStore:  storeOf[*corev1.Pod](nil),
		informer: core(&corev1.Pod{}, func(c kubernetes.Interface, ns string, t tweakFunc) cache.SharedIndexInformer {
			return coreinformers.NewFilteredPodInformer(c, ns, 0, namespaceIndexers, t)
		}),
	},
	{
		kind: model.Namespaces, namespaced: false,
		resources: []schema.GroupVersionResource{corev1.SchemeGroupVersion.WithResource("namespaces")},
		newStore:  storeOf[*corev1.Namespace](nil),
		informer: core(&corev1.Namespace{}, func(c kubernetes.Interface, _ string, t tweakFunc) cache.SharedIndexInformer {
			return coreinformers.NewFilteredNamespaceInformer(c, 0, cache.Indexers{}, t)
		}),
	},
	{
		kind: model.Meshlets, namespaced: true,
		resources: []schema.GroupVersionResource{
			meshlessv1.GroupVersion.WithResource(meshlessv1.Resource),
			meshlessv1.CompatGroupVersion.WithResource(meshlessv1.Resource),
		},
		// The CRD's schema cannot say everything Validate does (label keys of the
		// selector, for one); objects it lets through are checked here.
		newStore: storeOf(func(m *meshlessv1.Meshlet) error { return m.Validate().ToAggregate() }),
		informer: meshletInformer,
	},
	{
		kind: model.GatewayClasses, namespaced: false,
		resources: []schema.GroupVersionResource{gatewayGV.WithResource("gatewayclasses")},
		newStore:  storeOf[*gatewayv1.GatewayClass](nil),
		informer: gateway(&gatewayv1.GatewayClass{}, func(c gatewayclient.Interface, _ string, t tweakFunc) cache.SharedIndexInformer {
			return gatewayinformersv1.NewFilteredGatewayClassInformer(c, 0, cache.Indexers{}, t)
		}),
	},
	{
		kind: model.Gateways, namespaced: true,
		resources: []schema.GroupVersionResource{gatewayGV.WithResource("gateways")},
		newStore:  storeOf[*gatewayv1.Gateway](nil),
		informer: gateway(&gatewayv1.Gateway{}, func(c gatewayclient.Interface, ns string, t tweakFunc) cache.SharedIndexInformer {
			return gatewayinformersv1.NewFilteredGatewayInformer(c, ns, 0, namespaceIndexers, t)
		}),
	},
	{
		kind: model.HTTPRoutes, namespaced: true,
		resources: []schema.GroupVersionResource{gatewayGV.WithResource("httproutes")},
		newStore:  storeOf[*gatewayv1.HTTPRoute](nil),
		informer: gateway(&gatewayv1.HTTPRoute{}, func(c gatewayclient.Interface, ns string, t tweakFunc) cache.SharedIndexInformer {
			return gatewayinformersv1.NewFilteredHTTPRouteInformer(c, ns, 0, namespaceIndexers, t)
		}),
	},
	{
		kind: model.TLSRoutes, namespaced: true,
		resources: []schema.GroupVersionResource{gatewayGV.WithResource("tlsroutes")},
		newStore:  storeOf[*gatewayv1.TLSRoute](nil),
		informer: gateway(&gatewayv1.TLSRoute{}, func(c gatewayclient.Interface, ns string, t tweakFunc) cache.SharedIndexInformer {
			return gatewayinformersv1.NewFilteredTLSRouteInformer(c, ns, 0, namespaceIndexers, t)
		}),
	},
	{
		kind: model.ReferenceGrants, namespaced: true,
		resources: []schema.GroupVersionResource{gatewayGV.WithResource("referencegrants")},
		newStore:  storeOf[*gatewayv1.ReferenceGrant](nil),
		informer: gateway(&gatewayv1.ReferenceGrant{}, func(c gatewayclient.Interface, ns string, t tweakFunc) cache.SharedIndexInformer {
			return gatewayinformersv1.NewFilteredReferenceGrantInformer(c, ns, 0, namespaceIndexers, t)
		}),
	},
	{
		kind: model.TLSSecrets, namespaced: true,
		resources:     []schema.GroupVersionResource{corev1.SchemeGroupVersion.WithResource("secrets")},
		fieldSelector: fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS)).String(),
		// The field selector keeps the other types away; the check guards against a server
		// that ignored it.
		newStore: storeOf(validTLSSecret),
		informer: core(&corev1.Secret{}, func(c kubernetes.Interface, ns string, t tweakFunc) cache.SharedIndexInformer {
			return coreinformers.NewFilteredSecretInformer(c, ns, 0, namespaceIndexers, t)
		}),
	},
	{
		kind: model.HTTPFilters, namespaced: true,
		resources: []schema.GroupVersionResource{gatewayv1alpha1.GroupVersionResource()},
		// The CRD's schema keeps each handler as written; Validate checks what it cannot
		// say (each handler an object naming its module).
		newStore: storeOf(func(f *gatewayv1alpha1.HTTPFilter) error { return f.Validate().ToAggregate() }),
		informer: httpFilterInformer,
	},
}

// kindDefByName returns the definition of a kind.
func kindDefByName(kind string) (kindDef, bool) {
	for _, d := range kindDefs {
		if d.kind == kind {
			return d, true
		}
	}
	return kindDef{}, false
}

// KindNames returns the kinds the source can watch, in a fixed order.
func KindNames() []string {
	names := make([]string, len(kindDefs))
	for i, d := range kindDefs {
		names[i] = d.kind
	}
	return names
}

func storeOf[T model.Object](validate func(T) error) func(string, string, []string, *zap.Logger) kindStore {
	return func(source, kind string, groups []string, logger *zap.Logger) kindStore {
		return newStore(source, kind, groups, validate, logger)
	}
}

// core registers an informer with the namespace's client-go factory, which dedupes by type
// and runs and stops it with the others.
func core(obj runtime.Object, build func(c kubernetes.Interface, ns string, tweak tweakFunc) cache.SharedIndexInformer) newInformerFunc {
	return func(d informerDeps, _ schema.GroupVersionResource, ns string, tweak tweakFunc) (cache.SharedIndexInformer, bool) {
		return d.core.InformerFor(obj, func(c kubernetes.Interface, _ time.Duration) cache.SharedIndexInformer {
			return build(c, ns, tweak)
		}), true
	}
}

// gateway registers an informer with the namespace's gateway-api generated factory.
func gateway(obj runtime.Object, build func(c gatewayclient.Interface, ns string, tweak tweakFunc) cache.SharedIndexInformer) newInformerFunc {
	return func(d informerDeps, _ schema.GroupVersionResource, ns string, tweak tweakFunc) (cache.SharedIndexInformer, bool) {
		return d.gateway.InformerFor(obj, func(c gatewayclient.Interface, _ time.Duration) cache.SharedIndexInformer {
			return build(c, ns, tweak)
		}), true
	}
}

// meshletInformer builds a Meshlet informer over the generic client: Meshlets have no
// generated clientset, and the two groups would collide in a factory, which keys informers
// by Go type.
func meshletInformer(d informerDeps, gvr schema.GroupVersionResource, ns string, tweak tweakFunc) (cache.SharedIndexInformer, bool) {
	lw := ListWatch[*meshlessv1.Meshlet](d.client.WithGroupVersion(gvr.GroupVersion()), ns, tweak)
	return cache.NewSharedIndexInformer(lw, &meshlessv1.Meshlet{}, 0, namespaceIndexers), false
}

// httpFilterInformer builds an HTTPFilter informer over the generic client, as Meshlets are
// read: caddymesh's own CRDs have no generated clientset.
func httpFilterInformer(d informerDeps, _ schema.GroupVersionResource, ns string, tweak tweakFunc) (cache.SharedIndexInformer, bool) {
	lw := ListWatch[*gatewayv1alpha1.HTTPFilter](d.client, ns, tweak)
	return cache.NewSharedIndexInformer(lw, &gatewayv1alpha1.HTTPFilter{}, 0, namespaceIndexers), false
}

// validTLSSecret accepts a Secret of type kubernetes.io/tls only.
func validTLSSecret(s *corev1.Secret) error {
	if s.Type != corev1.SecretTypeTLS {
		return fmt.Errorf("a Secret of type %q, not %s", s.Type, corev1.SecretTypeTLS)
	}
	return nil
}
