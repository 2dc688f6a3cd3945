// Package model names the data every source produces and every consumer reads.
//
// It is pure Go with no Caddy import, so translation code (manifest decoding, route
// compilation, xDS generation) can depend on it and be tested as plain functions. A source
// publishes one collection per kind, named "<source>/<kind>"; the kinds and the Go types
// stored under them are fixed here so that consumers cannot tell sources apart.
package model

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Kinds of collections. A kind is the lowercase plural of the resource, as in a Kubernetes
// API path. The Go type held by each kind is given in the comment.
const (
	Services        = "services"        // *corev1.Service
	EndpointSlices  = "endpointslices"  // *discoveryv1.EndpointSlice
	Pods            = "pods"            // *corev1.Pod
	Namespaces      = "namespaces"      // *corev1.Namespace
	Meshlets        = "meshlets"        // *meshlessv1.Meshlet
	GatewayClasses  = "gatewayclasses"  // *gatewayv1.GatewayClass
	Gateways        = "gateways"        // *gatewayv1.Gateway
	HTTPRoutes      = "httproutes"      // *gatewayv1.HTTPRoute
	TLSRoutes       = "tlsroutes"       // *gatewayv1.TLSRoute
	ReferenceGrants = "referencegrants" // *gatewayv1.ReferenceGrant
	// TLSSecrets are Kubernetes Secrets of type kubernetes.io/tls only: the certificates
	// Gateway listeners refer to. (Other Secrets are never read; "secrets" is xDS's kind.)
	TLSSecrets  = "tlssecrets"  // *corev1.Secret
	HTTPFilters = "httpfilters" // *gatewayv1alpha1.HTTPFilter (apis/gateway/v1alpha1): Caddy handlers for ExtensionRef

	// xDS kinds, produced by the xDS source; items are go-control-plane protos.
	Listeners              = "listeners"
	Clusters               = "clusters"
	RouteConfigurations    = "routeconfigurations"
	ClusterLoadAssignments = "clusterloadassignments"
	Secrets                = "secrets"
)

// MergedSource is the reserved source name under which the app exposes the union of every
// source's collection of a kind ("merged/services").
const MergedSource = "merged"

// Object is a Kubernetes-style object: what the file and Kubernetes sources store.
type Object interface {
	metav1.Object
	runtime.Object
}

// Key returns the collection key of a namespaced ("namespace/name") or cluster-scoped
// ("name") object, matching client-go's cache.MetaNamespaceKeyFunc.
func Key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// CollectionName joins a source name and a kind into a collection name.
func CollectionName(source, kind string) string { return source + "/" + kind }

// SplitCollectionName is the inverse of CollectionName.
func SplitCollectionName(name string) (source, kind string, ok bool) {
	return strings.Cut(name, "/")
}
