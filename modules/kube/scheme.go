package kube

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

// Scheme returns a new scheme holding every type caddymesh reads or writes: the built-in
// Kubernetes types (client-go's kubernetes/scheme), Gateway API v1 and v1beta1, caddymesh's
// HTTPFilter (gateway.caddymesh.io/v1alpha1), and the Meshlet types under both their
// canonical group and the original Meshless project's group. Each call returns a fresh scheme, so a caller may add its own types without
// affecting other clients.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	// The canonical Meshlet group is registered before the compat one, so that it is the
	// first kind the scheme reports for the Meshlet Go type.
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		gatewayv1.Install,
		gatewayv1beta1.Install,
		gatewayv1alpha1.AddToScheme,
		meshlessv1.AddToScheme,
		meshlessv1.AddCompatToScheme,
	} {
		// The builders only fail on conflicting registrations, a programming error.
		utilruntime.Must(add(s))
	}
	return s
}
