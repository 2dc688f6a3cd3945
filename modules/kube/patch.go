package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PatchType names a patch format. It is client-go's types.PatchType, so its constants can
// be used too.
type PatchType = types.PatchType

// The patch formats Patch sends. Server-side apply, the fourth kind of patch, has its own
// function, Apply, because it needs a field manager and a whole object.
const (
	// StrategicMerge is Kubernetes' strategic merge patch: lists with a merge key (such
	// as a Service's ports, keyed by port) are merged by key instead of replaced. Only
	// built-in types support it; CRDs answer 415 Unsupported Media Type.
	StrategicMerge PatchType = types.StrategicMergePatchType
	// MergePatch is a JSON merge patch (RFC 7386): maps are merged, lists are replaced
	// whole, and null deletes a key.
	MergePatch PatchType = types.MergePatchType
	// JSONPatch is a JSON patch (RFC 6902): a list of operations such as add, replace,
	// remove and test.
	JSONPatch PatchType = types.JSONPatchType
)

// RawPatch is a patch document and its format. (It is not called Patch, the name of the
// function that sends it.)
type RawPatch struct {
	// Type is the patch's format: StrategicMerge, MergePatch or JSONPatch.
	Type PatchType
	// Data is the patch document, in that format.
	Data []byte
}

// PatchOptions tune Patch.
type PatchOptions struct {
	// FieldManager names the writer in the object's managedFields. Optional.
	FieldManager string
	// DryRun validates and admits the request without persisting it.
	DryRun bool
	// Subresource, such as "status", patches that subresource instead of the object.
	Subresource string
}

// ApplyOptions tune Apply and ApplyStatus.
type ApplyOptions struct {
	// FieldManager names the applier; it owns the fields it applies. Required.
	FieldManager string
	// Force takes ownership of fields another manager owns, instead of failing with a
	// Conflict that names that manager and the fields.
	Force bool
	// DryRun validates and admits the request without persisting it.
	DryRun bool
}

// Patch changes one object with a strategic merge, JSON merge or JSON patch and returns
// the object the server stored.
func Patch[T Object](ctx context.Context, c *Client, namespace, name string, patch RawPatch, opts PatchOptions) (T, error) {
	var zero T
	switch patch.Type {
	case StrategicMerge, MergePatch, JSONPatch:
	case types.ApplyYAMLPatchType, types.ApplyCBORPatchType:
		return zero, opError("patching", typeName[T](), namespace, name, errors.New("use Apply for server-side apply"))
	default:
		return zero, opError("patching", typeName[T](), namespace, name, fmt.Errorf("unknown patch type %q", patch.Type))
	}
	r, err := resolve[T](ctx, c)
	if err != nil {
		return zero, opError("patching", typeName[T](), namespace, name, err)
	}
	return sendPatch[T](ctx, c, r, "patching", namespace, name, patch, opts.Subresource,
		&metav1.PatchOptions{DryRun: dryRun(opts.DryRun), FieldManager: opts.FieldManager})
}

// Apply sends obj as a server-side apply: the fields obj sets become owned by
// opts.FieldManager, fields it owned but obj no longer sets are removed, and other
// managers' fields are left alone. Apply sets apiVersion and kind from the client's
// scheme (on the wire; obj is not changed) and returns the object the server stored.
//
// obj is sent as its Go type serializes, so every field without omitempty is applied,
// zero values included; build obj with only the fields you mean to own. A field another
// manager owns with a different value fails the apply with a Conflict
// (apierrors.IsConflict) naming that manager, unless opts.Force is set. If obj has a
// resourceVersion, the server applies only to that version (a Conflict otherwise).
func Apply[T Object](ctx context.Context, c *Client, obj T, opts ApplyOptions) (T, error) {
	return apply(ctx, c, obj, opts, "")
}

// ApplyStatus is Apply for the status subresource. Only apiVersion, kind, the name,
// namespace and resourceVersion, and the status of obj are sent: the status endpoint
// ignores the rest, and a typed object's zero-valued spec would otherwise be sent too.
func ApplyStatus[T Object](ctx context.Context, c *Client, obj T, opts ApplyOptions) (T, error) {
	return apply(ctx, c, obj, opts, "status")
}

func apply[T Object](ctx context.Context, c *Client, obj T, opts ApplyOptions, subresource string) (T, error) {
	var zero T
	namespace, name := obj.GetNamespace(), obj.GetName()
	verb := "applying"
	if subresource != "" {
		verb = "applying the " + subresource + " of"
	}
	if opts.FieldManager == "" {
		return zero, opError(verb, typeName[T](), namespace, name, errors.New("server-side apply needs a field manager"))
	}
	r, err := resolve[T](ctx, c)
	if err != nil {
		return zero, opError(verb, typeName[T](), namespace, name, err)
	}
	body, err := applyBody(obj, r, subresource)
	if err != nil {
		return zero, opError(verb, r.kind(), namespace, name, err)
	}
	return sendPatch[T](ctx, c, r, verb, namespace, name, RawPatch{Type: types.ApplyYAMLPatchType, Data: body}, subresource,
		&metav1.PatchOptions{DryRun: dryRun(opts.DryRun), FieldManager: opts.FieldManager, Force: &opts.Force})
}

// applyBody serializes obj as an apply configuration: JSON (which is YAML) with the
// apiVersion and kind of the resolved resource. For a subresource only the identifying
// metadata and that subresource's field are kept.
func applyBody(obj Object, r *target, subresource string) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding the apply configuration: %w", err)
	}
	// Numbers stay json.Numbers: as float64 an int64 above 2^53 would lose digits.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("encoding the apply configuration: %w", err)
	}
	if subresource != "" {
		md := map[string]any{"name": obj.GetName()}
		if ns := obj.GetNamespace(); ns != "" {
			md["namespace"] = ns
		}
		if rv := obj.GetResourceVersion(); rv != "" {
			md["resourceVersion"] = rv
		}
		doc = map[string]any{"metadata": md, subresource: doc[subresource]}
	}
	doc["apiVersion"], doc["kind"] = r.gvk.GroupVersion().String(), r.gvk.Kind
	return json.Marshal(doc)
}

// sendPatch sends any kind of patch and decodes the result into a new T.
func sendPatch[T Object](ctx context.Context, c *Client, r *target, verb, namespace, name string, patch RawPatch, subresource string, opts *metav1.PatchOptions) (T, error) {
	var zero T
	if err := r.checkNamespace(namespace, true); err != nil {
		return zero, opError(verb, r.kind(), namespace, name, err)
	}
	out, _ := newObject[T]()
	req := r.request(http.MethodPatch, namespace).Name(name)
	if subresource != "" {
		req = req.SubResource(subresource)
	}
	err := req.
		SetHeader("Content-Type", string(patch.Type)).
		VersionedParams(opts, c.s.paramCodec).
		Body(patch.Data).
		Do(ctx).
		Into(out)
	if err != nil {
		if opts.FieldManager != "" {
			return zero, opError(verb, r.kind(), namespace, name, fmt.Errorf("as field manager %q: %w", opts.FieldManager, err))
		}
		return zero, opError(verb, r.kind(), namespace, name, err)
	}
	return out, nil
}
