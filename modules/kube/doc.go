// Package kube is caddymesh's Kubernetes client: loading a client configuration the way
// kubectl does, and typed, generic access to any type registered in a scheme, including
// the Meshlet CRD, which has no generated clientset.
//
// The package is plain Go with no Caddy import, so that the Kubernetes source
// (mesh.sources.kubernetes, in the same package) and later consumers' status writers share
// one client and one set of conventions:
//
//   - KubeConfig loads kubeconfig files, contexts, in-cluster service accounts and explicit
//     endpoints through client-go's clientcmd, so every auth method kubectl knows (tokens,
//     client certificates, exec plugins) works unchanged.
//   - Client maps a Go type to its API resource through the scheme and a discovery-backed
//     RESTMapper, and keeps one REST client per API group version. Go does not allow
//     generic methods, so the typed verbs are package functions taking the Client:
//     Get, List, ListAll, Create, Update, Delete, Patch, Apply, ApplyStatus and Watch.
//   - ListWatch adapts the same machinery to client-go's cache.ListerWatcher, so that any
//     registered type can back a shared informer.
//   - The status helpers (ApplyGatewayStatus and friends) write Gateway API status with
//     server-side apply and the condition rules of k8s.io/apimachinery/pkg/api/meta.
//
// Errors name the verb, kind and object, and wrap the API server's error, so
// apierrors.IsNotFound, IsConflict and the like keep working on them.
package kube
