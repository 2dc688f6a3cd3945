package kube

import (
	"context"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// GetOptions tune Get.
type GetOptions struct {
	// ResourceVersion, if set, lets the API server answer from its cache: "0" for any
	// version, or a version the answer must be at least as new as. Empty reads the latest
	// from etcd.
	ResourceVersion string
}

// CreateOptions tune Create.
type CreateOptions struct {
	// FieldManager names the writer in the object's managedFields. Optional.
	FieldManager string
	// DryRun validates and admits the request without persisting it.
	DryRun bool
}

// UpdateOptions tune Update.
type UpdateOptions struct {
	// FieldManager names the writer in the object's managedFields. Optional.
	FieldManager string
	// DryRun validates and admits the request without persisting it.
	DryRun bool
	// Subresource, such as "status", updates that subresource instead of the object.
	Subresource string
}

// DeleteOptions tune Delete. The zero value deletes with the server's defaults.
type DeleteOptions struct {
	// GracePeriodSeconds overrides the object's grace period; 0 deletes at once.
	GracePeriodSeconds *int64
	// UID and ResourceVersion, if set, are preconditions: the delete fails with a
	// Conflict unless the object still has them, so that a recreated or changed object
	// is not deleted by mistake.
	UID             types.UID
	ResourceVersion string
	// PropagationPolicy says what happens to the object's dependents: Orphan, Background
	// or Foreground. Empty leaves it to the server.
	PropagationPolicy metav1.DeletionPropagation
	// DryRun validates the request without deleting.
	DryRun bool
}

// dryRun is the wire form of a DryRun option.
func dryRun(on bool) []string {
	if on {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// Get reads one object. namespace must be empty for a cluster-scoped type.
func Get[T Object](ctx context.Context, c *Client, namespace, name string, opts GetOptions) (T, error) {
	var zero T
	r, err := resolve[T](ctx, c)
	if err != nil {
		return zero, opError("getting", typeName[T](), namespace, name, err)
	}
	if err := r.checkNamespace(namespace, true); err != nil {
		return zero, opError("getting", r.kind(), namespace, name, err)
	}
	out, _ := newObject[T]()
	err = r.request(http.MethodGet, namespace).
		Name(name).
		VersionedParams(&metav1.GetOptions{ResourceVersion: opts.ResourceVersion}, c.s.paramCodec).
		Do(ctx).
		Into(out)
	if err != nil {
		return zero, opError("getting", r.kind(), namespace, name, err)
	}
	return out, nil
}

// Create creates obj in its namespace and returns the object the server stored. obj is
// not changed.
func Create[T Object](ctx context.Context, c *Client, obj T, opts CreateOptions) (T, error) {
	var zero T
	namespace, name := obj.GetNamespace(), nameOrGenerate(obj)
	r, err := resolve[T](ctx, c)
	if err != nil {
		return zero, opError("creating", typeName[T](), namespace, name, err)
	}
	if err := r.checkNamespace(namespace, true); err != nil {
		return zero, opError("creating", r.kind(), namespace, name, err)
	}
	out, _ := newObject[T]()
	err = r.request(http.MethodPost, namespace).
		VersionedParams(&metav1.CreateOptions{DryRun: dryRun(opts.DryRun), FieldManager: opts.FieldManager}, c.s.paramCodec).
		// A copy, because encoding sets the object's apiVersion and kind for a moment,
		// which would race with the caller's readers.
		Body(obj.DeepCopyObject()).
		Do(ctx).
		Into(out)
	if err != nil {
		return zero, opError("creating", r.kind(), namespace, name, err)
	}
	return out, nil
}

// Update replaces obj (or its Subresource) and returns the object the server stored. The
// server rejects it with a Conflict if obj's resourceVersion is not the current one. obj
// is not changed.
func Update[T Object](ctx context.Context, c *Client, obj T, opts UpdateOptions) (T, error) {
	var zero T
	namespace, name := obj.GetNamespace(), obj.GetName()
	r, err := resolve[T](ctx, c)
	if err != nil {
		return zero, opError("updating", typeName[T](), namespace, name, err)
	}
	if err := r.checkNamespace(namespace, true); err != nil {
		return zero, opError("updating", r.kind(), namespace, name, err)
	}
	out, _ := newObject[T]()
	req := r.request(http.MethodPut, namespace).Name(name)
	if opts.Subresource != "" {
		req = req.SubResource(opts.Subresource)
	}
	err = req.
		VersionedParams(&metav1.UpdateOptions{DryRun: dryRun(opts.DryRun), FieldManager: opts.FieldManager}, c.s.paramCodec).
		Body(obj.DeepCopyObject()).
		Do(ctx).
		Into(out)
	if err != nil {
		return zero, opError("updating", r.kind(), namespace, name, err)
	}
	return out, nil
}

// Delete deletes one object. The type parameter says which resource; it cannot be
// inferred, so callers write Delete[*corev1.ConfigMap](ctx, c, ns, name, opts).
func Delete[T Object](ctx context.Context, c *Client, namespace, name string, opts DeleteOptions) error {
	r, err := resolve[T](ctx, c)
	if err != nil {
		return opError("deleting", typeName[T](), namespace, name, err)
	}
	if err := r.checkNamespace(namespace, true); err != nil {
		return opError("deleting", r.kind(), namespace, name, err)
	}
	body := &metav1.DeleteOptions{
		GracePeriodSeconds: opts.GracePeriodSeconds,
		DryRun:             dryRun(opts.DryRun),
	}
	if opts.UID != "" || opts.ResourceVersion != "" {
		body.Preconditions = &metav1.Preconditions{}
		if opts.UID != "" {
			body.Preconditions.UID = &opts.UID
		}
		if opts.ResourceVersion != "" {
			body.Preconditions.ResourceVersion = &opts.ResourceVersion
		}
	}
	if opts.PropagationPolicy != "" {
		body.PropagationPolicy = &opts.PropagationPolicy
	}
	err = r.request(http.MethodDelete, namespace).Name(name).Body(body).Do(ctx).Error()
	if err != nil {
		return opError("deleting", r.kind(), namespace, name, err)
	}
	return nil
}

// nameOrGenerate names an object in errors before the server has named it.
func nameOrGenerate(obj Object) string {
	if name := obj.GetName(); name != "" || obj.GetGenerateName() == "" {
		return name
	}
	return obj.GetGenerateName() + "*"
}
