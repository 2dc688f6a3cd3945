package collection

import (
	"fmt"
	"reflect"
)

// Option configures a collection when it is created.
type Option func(*options)

type options struct {
	name  string
	key   any // func(T) string
	equal any // func(a, b T) bool
}

// WithName names the collection, for logs, metrics and the admin API.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithKey sets how items are keyed. Without it, items are keyed by [DefaultKey].
func WithKey[T any](key func(T) string) Option { return func(o *options) { o.key = key } }

// WithEqual sets when two values of a key are the same, so that no event is emitted. Without
// it, [DefaultEqual] is used.
func WithEqual[T any](equal func(a, b T) bool) Option {
	return func(o *options) { o.equal = equal }
}

func buildOptions[T any](defaultName string, opts []Option) (name string, key func(T) string, equal func(a, b T) bool) {
	o := options{name: defaultName}
	for _, opt := range opts {
		opt(&o)
	}
	tname := reflect.TypeFor[T]().String() // %T of a zero interface value would say <nil>
	switch k := o.key.(type) {
	case nil:
		key = DefaultKey[T]()
		if key == nil {
			panic(fmt.Sprintf("collection %q: type %s has no natural key; pass collection.WithKey", o.name, tname))
		}
	case func(T) string:
		key = k
	default:
		panic(fmt.Sprintf("collection %q: WithKey given %s, want func(%s) string", o.name, reflect.TypeOf(k), tname))
	}
	switch e := o.equal.(type) {
	case nil:
		equal = DefaultEqual[T]()
	case func(a, b T) bool:
		equal = e
	default:
		panic(fmt.Sprintf("collection %q: WithEqual given %s, want func(a, b %s) bool", o.name, reflect.TypeOf(e), tname))
	}
	return o.name, key, equal
}
