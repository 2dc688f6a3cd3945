package mesh

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// declareBuiltinKinds fixes the item types of the Kubernetes-style kinds, so that every
// source stores the same Go types and "merged/<kind>" exists (empty) even when no source
// publishes the kind. Sources of other kinds (xDS, user-defined) declare theirs by
// publishing.
func declareBuiltinKinds(r *Registry) {
	must(declareKind[*corev1.Service](r, model.Services))
	must(declareKind[*discoveryv1.EndpointSlice](r, model.EndpointSlices))
	must(declareKind[*corev1.Pod](r, model.Pods))
	must(declareKind[*corev1.Namespace](r, model.Namespaces))
	must(declareKind[*meshlessv1.Meshlet](r, model.Meshlets))
	must(declareKind[*gatewayv1.GatewayClass](r, model.GatewayClasses))
	must(declareKind[*gatewayv1.Gateway](r, model.Gateways))
	must(declareKind[*gatewayv1.HTTPRoute](r, model.HTTPRoutes))
	must(declareKind[*gatewayv1.TLSRoute](r, model.TLSRoutes))
	must(declareKind[*gatewayv1.ReferenceGrant](r, model.ReferenceGrants))
	must(declareKind[*corev1.Secret](r, model.TLSSecrets))
	must(declareKind[*gatewayv1alpha1.HTTPFilter](r, model.HTTPFilters))
}

func must(err error) {
	if err != nil {
		panic(err) // a programming error in the table above
	}
}
