package collection

import (
	"reflect"

	"google.golang.org/protobuf/proto"
)

// Equaler is implemented by types that know when two values are the same.
type Equaler[T any] interface{ Equal(T) bool }

// versioned matches Kubernetes objects, whose resourceVersion changes on every write.
type versioned interface{ GetResourceVersion() string }

// DefaultEqual returns the equality used when a collection is given none:
//   - T's own Equal method if it has one;
//   - proto.Equal for protobuf messages (xDS resources);
//   - for Kubernetes objects, equal resourceVersions mean equal objects (the API server's
//     promise), and anything else falls back to a deep comparison, because objects from files
//     carry no resourceVersion;
//   - reflect.DeepEqual otherwise.
func DefaultEqual[T any]() func(a, b T) bool {
	t := reflect.TypeFor[T]()
	switch {
	case t.Implements(reflect.TypeFor[Equaler[T]]()):
		if eq, ok := methodOf[func(T, T) bool, T]("Equal"); ok {
			return eq
		}
		return func(a, b T) bool { return any(a).(Equaler[T]).Equal(b) }
	case t.Implements(reflect.TypeFor[proto.Message]()):
		return func(a, b T) bool { return proto.Equal(any(a).(proto.Message), any(b).(proto.Message)) }
	case t.Implements(reflect.TypeFor[versioned]()):
		return func(a, b T) bool {
			va, vb := any(a).(versioned), any(b).(versioned)
			if rv := va.GetResourceVersion(); rv != "" && rv == vb.GetResourceVersion() {
				return true
			}
			return reflect.DeepEqual(a, b)
		}
	}
	// == is used only where it means the same as a deep comparison. Pointers compare by
	// pointee: a source that re-reads an object builds a new pointer to an equal value, and
	// that is no change; the same holds for a pointer inside a struct. A struct holding an
	// interface may hold a value == cannot compare, which would panic.
	if plainComparable(t) {
		return func(a, b T) bool { return any(a) == any(b) }
	}
	return func(a, b T) bool { return reflect.DeepEqual(a, b) }
}

// plainComparable reports whether == on t compares values all the way down: no pointers,
// interfaces, maps, slices or funcs anywhere inside it.
func plainComparable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return plainComparable(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !plainComparable(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
