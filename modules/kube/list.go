package kube

import (
	"context"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// defaultPageSize is ListAll's page size when the caller sets no Limit: client-go's pager
// default, small enough to keep each response (and the server's work per request) modest.
const defaultPageSize = 500

// ObjectList is one List response: the items and the list's metadata.
type ObjectList[T Object] struct {
	// Items are the objects, in the server's order (by namespace and name).
	Items []T
	// ResourceVersion is the version the list is a consistent snapshot of: resume a
	// Watch from it to see every change after the list.
	ResourceVersion string
	// Continue, when not empty, fetches the next page (ListOptions.Continue).
	Continue string
	// RemainingItemCount estimates the items after this page, when the server knows it
	// (paged lists without selectors).
	RemainingItemCount *int64
}

// ListOptions tune List, ListAll and the watches' selectors. The zero value lists
// everything, fresh from etcd.
type ListOptions struct {
	// LabelSelector and FieldSelector narrow the list, in the API server's syntax
	// ("app=web,tier!=db", "metadata.name=web"). CRDs support only metadata.name and
	// metadata.namespace field selectors (and their declared selectable fields).
	LabelSelector string
	FieldSelector string
	// Limit, if positive, asks for at most this many items; the response's Continue then
	// fetches the rest.
	Limit int64
	// Continue is the token of the page to fetch, from the previous page.
	Continue string
	// ResourceVersion and ResourceVersionMatch choose the snapshot, as in
	// metav1.ListOptions: "" for the latest, "0" for any (from the server's cache), or a
	// version matched Exact or NotOlderThan.
	ResourceVersion      string
	ResourceVersionMatch metav1.ResourceVersionMatch
}

func (o ListOptions) metav1() metav1.ListOptions {
	return metav1.ListOptions{
		LabelSelector:        o.LabelSelector,
		FieldSelector:        o.FieldSelector,
		Limit:                o.Limit,
		Continue:             o.Continue,
		ResourceVersion:      o.ResourceVersion,
		ResourceVersionMatch: o.ResourceVersionMatch,
	}
}

// List reads one page of objects of T: in namespace, or in every namespace if it is
// empty (it must be empty for a cluster-scoped type).
func List[T Object](ctx context.Context, c *Client, namespace string, opts ListOptions) (*ObjectList[T], error) {
	r, err := resolve[T](ctx, c)
	if err != nil {
		return nil, listError(typeName[T](), where(namespace), err)
	}
	if err := r.checkNamespace(namespace, false); err != nil {
		return nil, listError(r.kind(), r.where(namespace), err)
	}
	obj, err := r.list(ctx, c, namespace, opts.metav1())
	if err != nil {
		return nil, listError(r.kind(), r.where(namespace), err)
	}
	list, err := typedList[T](obj)
	if err != nil {
		return nil, listError(r.kind(), r.where(namespace), err)
	}
	return list, nil
}

// ListAll reads every object of T, opts.Limit (default 500) at a time, and returns them
// as one list at the resource version of the first page: the pages of one listing are a
// consistent snapshot. If the snapshot expires between pages (etcd compacted it), ListAll
// falls back, as client-go's pager does, to a single unpaged list.
func ListAll[T Object](ctx context.Context, c *Client, namespace string, opts ListOptions) (*ObjectList[T], error) {
	if opts.Limit <= 0 {
		opts.Limit = defaultPageSize
	}
	opts.Continue = ""
	all := &ObjectList[T]{}
	for {
		page, err := List[T](ctx, c, namespace, opts)
		if err != nil {
			if opts.Continue != "" && apierrors.IsResourceExpired(err) {
				opts.Limit, opts.Continue = 0, ""
				return List[T](ctx, c, namespace, opts)
			}
			return nil, err
		}
		if all.ResourceVersion == "" {
			all.ResourceVersion = page.ResourceVersion
		}
		all.Items = append(all.Items, page.Items...)
		if page.Continue == "" {
			return all, nil
		}
		opts.Continue = page.Continue
		// The continue token carries the snapshot; the server refuses both.
		opts.ResourceVersion, opts.ResourceVersionMatch = "", ""
	}
}

// list sends a list request and returns the scheme's list type for T ("ConfigMapList").
func (r *target) list(ctx context.Context, c *Client, namespace string, opts metav1.ListOptions) (runtime.Object, error) {
	listGVK := r.gvk.GroupVersion().WithKind(r.gvk.Kind + "List")
	obj, err := c.s.scheme.New(listGVK)
	if err != nil {
		return nil, fmt.Errorf("the scheme has no list type %s: %w", listGVK, err)
	}
	opts.Watch = false
	err = r.request(http.MethodGet, namespace).
		VersionedParams(&opts, c.s.paramCodec).
		Do(ctx).
		Into(obj)
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// typedList converts a scheme list type into an ObjectList. The items are pointers into
// the decoded list, not copies.
func typedList[T Object](obj runtime.Object) (*ObjectList[T], error) {
	items, err := meta.ExtractList(obj)
	if err != nil {
		return nil, fmt.Errorf("reading the items of %T: %w", obj, err)
	}
	lm, err := meta.ListAccessor(obj)
	if err != nil {
		return nil, fmt.Errorf("reading the metadata of %T: %w", obj, err)
	}
	out := &ObjectList[T]{
		Items:              make([]T, 0, len(items)),
		ResourceVersion:    lm.GetResourceVersion(),
		Continue:           lm.GetContinue(),
		RemainingItemCount: lm.GetRemainingItemCount(),
	}
	for _, item := range items {
		t, ok := item.(T)
		if !ok {
			return nil, fmt.Errorf("%T holds a %T, not a %s", obj, item, typeName[T]())
		}
		out.Items = append(out.Items, t)
	}
	return out, nil
}

// listError wraps a list error with the kind and where it listed (see where).
func listError(kind, where string, err error) error {
	return fmt.Errorf("listing %s%s: %w", kind, where, err)
}

// where says which namespaces a list or watch covers, for errors.
func where(namespace string) string {
	if namespace == "" {
		return " in all namespaces"
	}
	return fmt.Sprintf(" in namespace %q", namespace)
}

// where is the package's where, saying nothing for a cluster-scoped resource.
func (r *target) where(namespace string) string {
	if !r.namespaced && namespace == "" {
		return ""
	}
	return where(namespace)
}
