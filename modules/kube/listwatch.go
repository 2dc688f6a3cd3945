package kube

import (
	"context"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// ListWatch returns a client-go ListerWatcher of T in namespace (all namespaces if
// empty), so that any type in the client's scheme can back a cache.SharedIndexInformer,
// including Meshlets, which have no generated clientset. Use a WithGroupVersion view of
// the client to watch a type in a group other than its default one.
//
// tweak, if not nil, changes the options of every list and watch (label and field
// selectors). The type is resolved on every call, not now, so that an informer can be
// made before its CRD is installed: its reflector retries until the resource is served.
// The watch is client-go's own (rest.Request.Watch), with the error handling informers
// expect.
func ListWatch[T Object](c *Client, namespace string, tweak func(*metav1.ListOptions)) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			if tweak != nil {
				tweak(&opts)
			}
			r, err := resolve[T](ctx, c)
			if err != nil {
				return nil, listError(typeName[T](), where(namespace), err)
			}
			if err := r.checkNamespace(namespace, false); err != nil {
				return nil, listError(r.kind(), r.where(namespace), err)
			}
			obj, err := r.list(ctx, c, namespace, opts)
			if err != nil {
				return nil, listError(r.kind(), r.where(namespace), err)
			}
			return obj, nil
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.Watch = true
			if tweak != nil {
				tweak(&opts)
			}
			r, err := resolve[T](ctx, c)
			if err != nil {
				return nil, watchError(typeName[T](), where(namespace), err)
			}
			if err := r.checkNamespace(namespace, false); err != nil {
				return nil, watchError(r.kind(), r.where(namespace), err)
			}
			w, err := r.request(http.MethodGet, namespace).
				VersionedParams(&opts, c.s.paramCodec).
				Watch(ctx)
			if err != nil {
				return nil, watchError(r.kind(), r.where(namespace), err)
			}
			return w, nil
		},
	}
}
