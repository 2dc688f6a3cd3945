package collection

import "reflect"

// Keyed items name their own key.
type Keyed interface{ Key() string }

// namespaced matches Kubernetes objects (metav1.Object) without importing apimachinery.
type namespaced interface {
	GetNamespace() string
	GetName() string
}

// named matches xDS resources (go-control-plane protos have GetName) and similar types.
type named interface{ GetName() string }

// DefaultKey returns the natural key function of T, or nil if T has none:
//   - Key() string, for types that say their key;
//   - "namespace/name" (or "name" when the namespace is empty) for Kubernetes objects, as
//     client-go's MetaNamespaceKeyFunc does;
//   - GetName() for xDS resources, whose names are their keys.
func DefaultKey[T any]() func(T) string {
	switch t := reflect.TypeFor[T](); {
	case t.Implements(reflect.TypeFor[Keyed]()):
		if key, ok := methodOf[func(T) string, T]("Key"); ok {
			return key
		}
		return func(t T) string { return any(t).(Keyed).Key() }
	case t.Implements(reflect.TypeFor[namespaced]()):
		ns, ok1 := methodOf[func(T) string, T]("GetNamespace")
		name, ok2 := methodOf[func(T) string, T]("GetName")
		if !ok1 || !ok2 {
			ns = func(t T) string { return any(t).(namespaced).GetNamespace() }
			name = func(t T) string { return any(t).(namespaced).GetName() }
		}
		return func(t T) string {
			if n := ns(t); n != "" {
				return n + "/" + name(t)
			}
			return name(t)
		}
	case t.Implements(reflect.TypeFor[named]()):
		if name, ok := methodOf[func(T) string, T]("GetName"); ok {
			return name
		}
		return func(t T) string { return any(t).(named).GetName() }
	}
	return nil
}
