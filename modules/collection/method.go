package collection

import "reflect"

// methodOf returns T's method name as a plain function of type F taking the receiver first
// (a method expression, such as T.Key), or false if T is an interface type or the method
// has another type. Calling it does not convert a T to an interface, which in generic code
// costs a heap allocation per call for a struct value: a key or an equality is computed on
// every write, so that allocation would be most of a small update's garbage.
func methodOf[F, T any](name string) (F, bool) {
	var zero F
	t := reflect.TypeFor[T]()
	if t.Kind() == reflect.Interface {
		return zero, false
	}
	m, ok := t.MethodByName(name)
	if !ok {
		return zero, false
	}
	f, ok := m.Func.Interface().(F)
	return f, ok
}
