package manifest

import (
	"strconv"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// DefaultNamespace is the namespace of namespaced objects that do not name one, as kubectl
// and the API server use when no namespace is given.
const DefaultNamespace = metav1.NamespaceDefault

// prepareMeta defaults and validates metadata the way the API server does on create: the
// namespace of namespaced kinds defaults to "default", cluster-scoped kinds must have none,
// and the name, labels and annotations must be valid.
func prepareMeta(k *kind, obj model.Object) field.ErrorList {
	if k.namespaced && obj.GetNamespace() == "" {
		obj.SetNamespace(DefaultNamespace)
	}
	return apivalidation.ValidateObjectMetaAccessor(obj, k.namespaced, k.nameFn, field.NewPath("metadata"))
}

// requirePresent reports each field of paths that js does not contain (or contains as
// null). It covers required fields whose zero value is valid, such as a ReferenceGrant's
// group "" (the core group): the typed object cannot tell them from absent ones, but the
// CRD schema requires them to be written out. A path is dotted field names; "name[]" means
// every item of the list "name".
func requirePresent(js []byte, paths []string) field.ErrorList {
	if len(paths) == 0 {
		return nil
	}
	var doc any
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &doc); err != nil {
		return nil // the typed decode already succeeded, so this cannot happen
	}
	var errs field.ErrorList
	for _, p := range paths {
		errs = append(errs, requirePath(doc, strings.Split(p, "."), "")...)
	}
	return errs
}

func requirePath(v any, parts []string, at string) field.ErrorList {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil // a parent of the wrong shape is reported by the typed decode
	}
	name, list := strings.CutSuffix(parts[0], "[]")
	here := joinField(at, name)
	child, present := obj[name]
	if !present || child == nil {
		if len(parts) == 1 {
			return field.ErrorList{field.Required(field.NewPath(here), "")}
		}
		return nil // a missing parent is reported by its own rule
	}
	if len(parts) == 1 {
		return nil
	}
	if !list {
		return requirePath(child, parts[1:], here)
	}
	items, _ := child.([]any)
	var errs field.ErrorList
	for i, item := range items {
		errs = append(errs, requirePath(item, parts[1:], here+"["+strconv.Itoa(i)+"]")...)
	}
	return errs
}
