package kube

import (
	"context"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// Object is what the typed functions read and write: a pointer to a Kubernetes API struct
// (such as *corev1.ConfigMap or *meshlessv1.Meshlet) registered in the client's scheme. It
// is the same interface the sources store, model.Object.
type Object = model.Object

// target is where the requests for one Go type go, resolved through the client's scheme
// (Go type → kind) and RESTMapper (kind → resource and scope).
type target struct {
	gvk        schema.GroupVersionKind
	resource   string // the plural name in the URL path
	namespaced bool
	client     *rest.RESTClient
	// protobuf is set for types with generated protobuf code (the built-in types), which
	// are then sent and received as protobuf, the API server's cheaper encoding. CRDs speak
	// JSON only.
	protobuf bool
}

// protobufMessage is what the apimachinery protobuf serializer needs of a type.
type protobufMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// resolve finds the resource of T for this client (view).
func resolve[T Object](ctx context.Context, c *Client) (*target, error) {
	obj, err := newObject[T]()
	if err != nil {
		return nil, err
	}
	gvk, err := c.kindFor(obj)
	if err != nil {
		return nil, err
	}
	m, err := c.restMapping(ctx, gvk)
	if err != nil {
		return nil, err
	}
	rc, err := c.restClient(gvk.GroupVersion())
	if err != nil {
		return nil, err
	}
	_, pb := any(obj).(protobufMessage)
	return &target{
		gvk:        gvk,
		resource:   m.Resource.Resource,
		namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace,
		client:     rc,
		protobuf:   pb,
	}, nil
}

// newObject returns a new zero object of T, which must be a pointer to a struct.
func newObject[T Object]() (T, error) {
	var zero T
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return zero, fmt.Errorf("%v is not a pointer to an API struct", t)
	}
	return reflect.New(t.Elem()).Interface().(T), nil
}

// typeName names T in errors that happen before its kind is known.
func typeName[T Object]() string { return reflect.TypeFor[T]().String() }

// kind names the resource's kind in errors: "ConfigMap", or "Meshlet.meshless.caddymesh.io"
// for a kind outside the core group, so that the two Meshlet groups can be told apart.
func (r *target) kind() string { return r.gvk.GroupKind().String() }

// request starts a request for the resource, in namespace if the resource is namespaced.
func (r *target) request(verb, namespace string) *rest.Request {
	return r.client.Verb(verb).
		UseProtobufAsDefaultIfPreferred(r.protobuf).
		NamespaceIfScoped(namespace, r.namespaced).
		Resource(r.resource)
}

// checkNamespace rejects a namespace on a cluster-scoped resource, and (if required) a
// missing one on a namespaced resource, before the API server would answer with a
// confusing 404.
func (r *target) checkNamespace(namespace string, required bool) error {
	switch {
	case !r.namespaced && namespace != "":
		return fmt.Errorf("%s is cluster-scoped, but namespace %q was given", r.kind(), namespace)
	case r.namespaced && required && namespace == "":
		return fmt.Errorf("%s is namespaced, but no namespace was given", r.kind())
	}
	return nil
}

// opError wraps err with the verb ("getting") and the object it was about.
func opError(verb, kind, namespace, name string, err error) error {
	return fmt.Errorf("%s %s %s: %w", verb, kind, model.Key(namespace, name), err)
}
