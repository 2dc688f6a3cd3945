package kube

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	"k8s.io/client-go/tools/cache"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// kindStore is one kind's collection, fed by the informers of that kind (one per watched
// namespace, and for Meshlets one per API group), with the item type hidden so the loader
// can treat all kinds alike.
type kindStore interface {
	// handler returns the event handler for an informer of the given API group.
	handler(group string) cache.ResourceEventHandler
	// setStreamError records or (with nil) clears the error of one informer's list/watch;
	// id names the informer (its resource and namespace).
	setStreamError(id string, err error)
	markSynced()
	rejected() uint64
	info() collection.Info
	publish(p *mesh.Publisher) error
	// has reports whether the collection holds an object under key.
	has(key string) bool
}

// store keeps a kind's objects in a collection.Static and its errors apart by origin, so
// that one informer recovering does not hide another's failure, and an invalid object's
// error lasts exactly as long as the object does.
//
// A kind served by more than one API group (Meshlets: the canonical group and the original
// Meshless one) keeps each group's objects too, so that when two groups hold an object of
// the same name the first group in precedence order wins, and the other's object takes
// over when the winner is deleted.
type store[T model.Object] struct {
	kind     string
	static   *collection.Static[T]
	validate func(T) error // nil: the API server's validation is enough
	logger   *zap.Logger
	groups   []string // precedence order; set only for multi-group kinds

	mu      sync.Mutex
	byGroup map[string]map[string]T // group → key → object, for multi-group kinds
	streams map[string]error        // informer id → its list/watch error
	invalid map[string]error        // object key → why it was skipped
	skipped atomic.Uint64
}

func newStore[T model.Object](source, kind string, groups []string, validate func(T) error, logger *zap.Logger) *store[T] {
	s := &store[T]{
		kind:     kind,
		static:   collection.NewStatic[T](collection.WithName(model.CollectionName(source, kind))),
		validate: validate,
		logger:   logger,
		streams:  make(map[string]error),
		invalid:  make(map[string]error),
	}
	if len(groups) > 1 {
		s.groups = groups
		s.byGroup = make(map[string]map[string]T, len(groups))
		for _, g := range groups {
			s.byGroup[g] = make(map[string]T)
		}
	}
	return s
}

func (s *store[T]) handler(group string) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.upsert(group, obj) },
		UpdateFunc: func(_, obj any) { s.upsert(group, obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				s.remove(group, tomb.Key)
				return
			}
			if item, ok := obj.(T); ok {
				s.remove(group, model.Key(item.GetNamespace(), item.GetName()))
			}
		},
	}
}

func (s *store[T]) upsert(group string, obj any) {
	item, ok := obj.(T)
	if !ok {
		// An informer holds only its own type; anything else is a programming error,
		// reported rather than crashing the process.
		s.logger.Error("informer delivered an unexpected type", zap.String("kind", s.kind), zap.String("type", fmt.Sprintf("%T", obj)))
		return
	}
	key := model.Key(item.GetNamespace(), item.GetName())
	if s.validate != nil {
		if err := s.validate(item); err != nil {
			// The object passed the API server's schema but cannot be used. It is skipped
			// (its last good version, if any, keeps serving), logged and counted; the
			// rest of the kind flows on.
			s.skipped.Add(1)
			s.logger.Warn("skipping an object that cannot be used",
				zap.String("kind", s.kind), zap.String("group", group), zap.String("object", key), zap.Error(err))
			s.setInvalid(key, err)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearInvalidLocked(key)
	if s.byGroup == nil {
		s.static.Upsert(item)
		return
	}
	s.byGroup[group][key] = item
	s.applyWinnerLocked(key)
}

func (s *store[T]) remove(group, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearInvalidLocked(key)
	if s.byGroup == nil {
		s.static.Delete(key)
		return
	}
	delete(s.byGroup[group], key)
	s.applyWinnerLocked(key)
}

// applyWinnerLocked makes the collection hold the object of key from the first group that
// has one.
func (s *store[T]) applyWinnerLocked(key string) {
	for _, g := range s.groups {
		if item, ok := s.byGroup[g][key]; ok {
			s.static.Upsert(item)
			return
		}
	}
	s.static.Delete(key)
}

func (s *store[T]) setInvalid(key string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalid[key] = fmt.Errorf("%s %s skipped: %w", s.kind, key, err)
	s.publishErrorLocked()
}

func (s *store[T]) clearInvalidLocked(key string) {
	if _, had := s.invalid[key]; had {
		delete(s.invalid, key)
		s.publishErrorLocked()
	}
}

func (s *store[T]) setStreamError(id string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.streams[id]
	switch {
	case err == nil && !had:
		return
	case err == nil:
		delete(s.streams, id)
	case had && old.Error() == err.Error():
		return
	default:
		s.streams[id] = err
	}
	s.publishErrorLocked()
}

// publishErrorLocked sets the collection's last error to every current error, in a stable
// order, or clears it.
func (s *store[T]) publishErrorLocked() {
	errs := make([]error, 0, len(s.streams)+len(s.invalid))
	for _, m := range []map[string]error{s.streams, s.invalid} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			errs = append(errs, m[k])
		}
	}
	s.static.SetError(errors.Join(errs...))
}

func (s *store[T]) markSynced()           { s.static.MarkSynced() }
func (s *store[T]) rejected() uint64      { return s.skipped.Load() }
func (s *store[T]) info() collection.Info { return s.static }

func (s *store[T]) has(key string) bool {
	_, ok := s.static.Get(key)
	return ok
}

func (s *store[T]) publish(p *mesh.Publisher) error {
	return mesh.PublishCollection[T](p, s.kind, s.static)
}
