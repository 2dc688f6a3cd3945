package collection

// SingletonKey is the one key of a singleton collection.
const SingletonKey = "singleton"

// Singleton is a collection of exactly one value, such as "the default connection limit" or
// "the number of AuthorizationPolicies". It is a Collection, so it can be watched, joined and
// run over like any other; Value is the shortcut for Get(SingletonKey).
type Singleton[T any] struct {
	*Derived[T]
}

// Value returns the current value.
func (s *Singleton[T]) Value() T {
	v, _ := s.Get(SingletonKey)
	return v
}

func newSingleton[T any](defaultName string, initial T, opts []Option) *Singleton[T] {
	opts = append([]Option{WithName(defaultName)}, opts...)
	opts = append(opts, WithKey(func(T) string { return SingletonKey }))
	name, key, equal := buildOptions[T]("", opts)
	s := &Singleton[T]{Derived: &Derived[T]{store: newStore(name, key, equal)}}
	s.apply([]change[T]{{key: SingletonKey, val: initial}}, false)
	return s
}

// Var is a singleton set by code: a value from configuration that other collections derive
// from, for example.
type Var[T any] struct {
	*Singleton[T]
}

// NewVar returns a synced singleton holding v.
func NewVar[T any](v T, opts ...Option) *Var[T] {
	s := newSingleton("var", v, opts)
	s.apply(nil, true)
	return &Var[T]{Singleton: s}
}

// Set replaces the value; setting an equal value emits nothing.
func (v *Var[T]) Set(val T) { v.apply([]change[T]{{key: SingletonKey, val: val}}, true) }

// Aggregate folds a collection into one value incrementally: add applies an item entering
// the collection and remove one leaving it (an update is a remove of the old value and an
// add of the new). Each input event costs one call, whatever the collection's size.
func Aggregate[T, A any](in Collection[T], zero A, add, remove func(acc A, item T) A, opts ...Option) *Singleton[A] {
	s := newSingleton("aggregate("+in.Name()+")", zero, opts)
	acc := zero
	w := in.subscribe(func(_ *watcher[T], events []Event[T], synced bool) {
		for _, e := range events {
			if e.Type != Added {
				acc = remove(acc, e.Old)
			}
			if e.Type != Deleted {
				acc = add(acc, e.New)
			}
		}
		s.write([]change[A]{{key: SingletonKey, val: acc}}, synced)
	})
	s.subs = append(s.subs, w)
	return s
}

// Count is the number of items in a collection, kept incrementally.
func Count[T any](in Collection[T], opts ...Option) *Singleton[int] {
	opts = append([]Option{WithName("count(" + in.Name() + ")")}, opts...)
	return Aggregate(in, 0,
		func(n int, _ T) int { return n + 1 },
		func(n int, _ T) int { return n - 1 }, opts...)
}

// Reduce computes one value from all of a collection's items, once per input write. It
// costs a pass over the collection each time: prefer Aggregate when the value can be kept
// incrementally, and use Reduce when it cannot (a maximum, a merged policy).
func Reduce[T, A any](in Collection[T], f func(items []T) A, opts ...Option) *Singleton[A] {
	s := newSingleton("reduce("+in.Name()+")", f(nil), opts)
	w := in.subscribe(func(_ *watcher[T], _ []Event[T], synced bool) {
		s.write([]change[A]{{key: SingletonKey, val: f(in.List())}}, synced)
	})
	s.subs = append(s.subs, w)
	return s
}
