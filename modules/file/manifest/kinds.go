package manifest

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// kind describes how one resource kind is decoded, defaulted and validated.
type kind struct {
	// gvk is the canonical apiVersion and kind, set on every decoded object whichever
	// accepted apiVersion the document used.
	gvk schema.GroupVersionKind
	// collection is the model kind (collection) the objects go to.
	collection string
	// namespaced kinds get "default" when metadata.namespace is empty; cluster-scoped kinds
	// must not have a namespace.
	namespaced bool
	// nameFn validates metadata.name, as the API server does for this kind.
	nameFn apivalidation.ValidateNameFunc
	// required lists fields that must be present even though their zero value is valid, so
	// the typed object cannot tell them apart from absent ones (see requirePresent).
	required []string
	// new returns an empty object to decode into.
	new func() model.Object
	// prepare applies defaults, then validates the spec. version is the apiVersion's
	// version as written, for kinds whose schema differs between versions.
	prepare func(obj model.Object, version string) field.ErrorList
}

// Accepted API groups and versions.
const (
	gatewayGroup     = gatewayv1.GroupName
	gatewayV1        = "v1"
	gatewayV1beta1   = "v1beta1"
	gatewayV1alpha2  = "v1alpha2"
	gatewayV1alpha3  = "v1alpha3"
	discoveryGroup   = discoveryv1.GroupName
	listKind         = "List"
	coreGroupVersion = "v1"
)

// kinds maps every accepted apiVersion and kind to its handling. Older Gateway API versions
// and the compatibility Meshlet group map to the same Go types as the canonical version:
// their JSON shapes are identical, as the CRDs' conversion strategy None requires.
var kinds = func() map[schema.GroupVersionKind]*kind {
	core := func(k string) schema.GroupVersionKind { return corev1.SchemeGroupVersion.WithKind(k) }
	gw := func(k string) schema.GroupVersionKind {
		return schema.GroupVersionKind{Group: gatewayGroup, Version: gatewayV1, Kind: k}
	}

	service := &kind{gvk: core("Service"), collection: model.Services, namespaced: true,
		nameFn: apivalidation.NameIsDNSLabel, new: func() model.Object { return &corev1.Service{} }, prepare: prepareService}
	pod := &kind{gvk: core("Pod"), collection: model.Pods, namespaced: true,
		nameFn: apivalidation.NameIsDNSSubdomain, new: func() model.Object { return &corev1.Pod{} }, prepare: preparePod}
	namespace := &kind{gvk: core("Namespace"), collection: model.Namespaces, namespaced: false,
		nameFn: apivalidation.NameIsDNSLabel, new: func() model.Object { return &corev1.Namespace{} }, prepare: prepareNamespace}
	slice := &kind{gvk: discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"), collection: model.EndpointSlices, namespaced: true,
		nameFn: apivalidation.NameIsDNSSubdomain, new: func() model.Object { return &discoveryv1.EndpointSlice{} }, prepare: prepareEndpointSlice}
	meshlet := &kind{gvk: meshlessv1.GroupVersionKind(), collection: model.Meshlets, namespaced: true,
		nameFn: meshlessv1.ValidateName, new: func() model.Object { return &meshlessv1.Meshlet{} }, prepare: prepareMeshlet}
	gatewayClass := &kind{gvk: gw("GatewayClass"), collection: model.GatewayClasses, namespaced: false,
		nameFn: apivalidation.NameIsDNSSubdomain, required: []string{"spec"},
		new: func() model.Object { return &gatewayv1.GatewayClass{} }, prepare: prepareGatewayClass}
	gateway := &kind{gvk: gw("Gateway"), collection: model.Gateways, namespaced: true,
		nameFn: apivalidation.NameIsDNSSubdomain, required: []string{"spec"},
		new: func() model.Object { return &gatewayv1.Gateway{} }, prepare: prepareGateway}
	httpRoute := &kind{gvk: gw("HTTPRoute"), collection: model.HTTPRoutes, namespaced: true,
		nameFn: apivalidation.NameIsDNSSubdomain, required: []string{"spec"},
		new: func() model.Object { return &gatewayv1.HTTPRoute{} }, prepare: prepareHTTPRoute}
	tlsRoute := &kind{gvk: gw("TLSRoute"), collection: model.TLSRoutes, namespaced: true,
		nameFn: apivalidation.NameIsDNSSubdomain, required: []string{"spec"},
		new: func() model.Object { return &gatewayv1.TLSRoute{} }, prepare: prepareTLSRoute}
	referenceGrant := &kind{gvk: gw("ReferenceGrant"), collection: model.ReferenceGrants, namespaced: true,
		nameFn: apivalidation.NameIsDNSSubdomain,
		// group "" (the core group) is valid but must be written out.
		required: []string{"spec", "spec.from[].group", "spec.to[].group"},
		new:      func() model.Object { return &gatewayv1.ReferenceGrant{} }, prepare: prepareReferenceGrant}

	// Only Secrets of type kubernetes.io/tls are loaded (prepareSecret refuses the others).
	secret := &kind{gvk: core("Secret"), collection: model.TLSSecrets, namespaced: true,
		nameFn: apivalidation.NameIsDNSSubdomain, new: func() model.Object { return &corev1.Secret{} }, prepare: prepareSecret}
	httpFilter := &kind{gvk: gatewayv1alpha1.GroupVersionKind(), collection: model.HTTPFilters, namespaced: true,
		nameFn: apivalidation.NameIsDNSSubdomain, required: []string{"spec"},
		new: func() model.Object { return &gatewayv1alpha1.HTTPFilter{} }, prepare: prepareHTTPFilter}

	m := map[schema.GroupVersionKind]*kind{}
	add := func(group, version string, k *kind) {
		m[schema.GroupVersionKind{Group: group, Version: version, Kind: k.gvk.Kind}] = k
	}
	add("", coreGroupVersion, service)
	add("", coreGroupVersion, pod)
	add("", coreGroupVersion, namespace)
	add("", coreGroupVersion, secret)
	add(gatewayv1alpha1.GroupName, gatewayv1alpha1.Version, httpFilter)
	add(discoveryGroup, "v1", slice)
	add(meshlessv1.GroupName, meshlessv1.Version, meshlet)
	add(meshlessv1.CompatGroupName, meshlessv1.Version, meshlet)
	for _, k := range []*kind{gatewayClass, gateway, httpRoute, referenceGrant} {
		add(gatewayGroup, gatewayV1, k)
		add(gatewayGroup, gatewayV1beta1, k)
	}
	add(gatewayGroup, gatewayV1, tlsRoute)
	add(gatewayGroup, gatewayV1alpha2, tlsRoute)
	add(gatewayGroup, gatewayV1alpha3, tlsRoute)
	return m
}()

// lookupKind finds the handling of an apiVersion and kind, or says which of the two is
// not supported and what is.
func lookupKind(apiVersion, kindName string) (*kind, *field.Error) {
	if apiVersion == "" {
		return nil, field.Required(field.NewPath("apiVersion"), "")
	}
	if kindName == "" {
		return nil, field.Required(field.NewPath("kind"), "")
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, field.Invalid(field.NewPath("apiVersion"), apiVersion, err.Error())
	}
	if k, ok := kinds[gv.WithKind(kindName)]; ok {
		return k, nil
	}
	var supportedKinds, supportedVersions []string
	versions := map[string]bool{}
	for gvk := range kinds {
		if gvk.GroupVersion() == gv {
			supportedKinds = append(supportedKinds, gvk.Kind)
		}
		if v := gvk.GroupVersion().String(); !versions[v] {
			versions[v] = true
			supportedVersions = append(supportedVersions, v)
		}
	}
	if len(supportedKinds) == 0 {
		sort.Strings(supportedVersions)
		return nil, field.NotSupported(field.NewPath("apiVersion"), apiVersion, supportedVersions)
	}
	if gv == corev1.SchemeGroupVersion {
		supportedKinds = append(supportedKinds, listKind)
	}
	sort.Strings(supportedKinds)
	return nil, field.NotSupported(field.NewPath("kind"), kindName, supportedKinds)
}
