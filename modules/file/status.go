package file

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

// statusKey identifies one controller's status of one object.
type statusKey struct {
	kind, key  string
	controller gatewayv1.GatewayController
}

// statusStore keeps the statuses controllers report on the file source's objects. Files
// have no status to write back to, so statuses live in memory, in the loader: they survive
// a config reload that keeps the source, as its collections do, and GET /mesh/status shows
// them. A status goes when its object leaves the files.
type statusStore struct {
	mu   sync.Mutex // held across the holds-the-object check and the write, against prune
	byID map[statusKey]mesh.Status
}

func newStatusStore() *statusStore {
	return &statusStore{byID: make(map[statusKey]mesh.Status)}
}

// writeStatus records s for an object of the loader's collections, merged with the status
// the same controller recorded before (see mergeStatus). It returns mesh.ErrNoObject if no
// collection holds the object.
func (l *loader) writeStatus(s mesh.Status) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if s.RouteParents != nil {
		parents, err := mesh.OwnedParents(s.Controller, s.RouteParents)
		if err != nil {
			return fmt.Errorf("status of %s %q: %w", s.Kind, s.Key(), err)
		}
		s.RouteParents = parents
	}
	st := l.statuses
	st.mu.Lock()
	defer st.mu.Unlock()
	kind, ok := l.stores[s.Kind]
	if !ok {
		return fmt.Errorf("%s %q: %w", s.Kind, s.Key(), mesh.ErrNoObject)
	}
	obj, ok := kind.get(s.Key())
	if !ok {
		return fmt.Errorf("%s %q: %w", s.Kind, s.Key(), mesh.ErrNoObject)
	}
	id := statusKey{kind: s.Kind, key: s.Key(), controller: s.Controller}
	if s.RouteParents != nil && len(s.RouteParents) == 0 {
		delete(st.byID, id) // the controller reports on no parent of this route any more
		return nil
	}
	var prev *mesh.Status
	if p, ok := st.byID[id]; ok {
		prev = &p
	}
	st.byID[id] = mergeStatus(prev, s, obj.GetGeneration())
	return nil
}

// pruneStatuses drops the statuses of objects the collections no longer hold. It runs
// after each re-read of the files.
func (l *loader) pruneStatuses() {
	st := l.statuses
	st.mu.Lock()
	defer st.mu.Unlock()
	for id := range st.byID {
		if kind, ok := l.stores[id.kind]; ok {
			if _, held := kind.get(id.key); held {
				continue
			}
		}
		delete(st.byID, id)
	}
}

// listStatuses returns a copy of every recorded status, sorted by kind, key and controller.
func (l *loader) listStatuses() []mesh.Status {
	st := l.statuses
	st.mu.Lock()
	out := make([]mesh.Status, 0, len(st.byID))
	for _, s := range st.byID {
		out = append(out, copyStatus(s))
	}
	st.mu.Unlock()
	slices.SortFunc(out, func(a, b mesh.Status) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Key(), b.Key()),
			strings.Compare(string(a.Controller), string(b.Controller)))
	})
	return out
}

// copyStatus deep-copies a status, so that callers cannot change the recorded one.
func copyStatus(s mesh.Status) mesh.Status {
	out := s
	if s.RouteParents != nil {
		out.RouteParents = make([]gatewayv1.RouteParentStatus, len(s.RouteParents))
		for i := range s.RouteParents {
			s.RouteParents[i].DeepCopyInto(&out.RouteParents[i])
		}
	}
	out.Gateway = s.Gateway.DeepCopy()
	out.GatewayClass = s.GatewayClass.DeepCopy()
	return out
}

// WriteStatus records a controller's status of one of the source's objects. Files have no
// status to write to: the source keeps it in memory (across config reloads that keep the
// source) and shows it through Statuses, which GET /mesh/status serves. Conditions keep
// their lastTransitionTime while their status is unchanged. It returns mesh.ErrNoObject for
// an object the source's files do not define.
func (s *Source) WriteStatus(_ context.Context, st mesh.Status) error {
	if s.loader == nil {
		return fmt.Errorf("%s %q: the source has not loaded: %w", st.Kind, st.Key(), mesh.ErrNoObject)
	}
	return s.loader.writeStatus(st)
}

// Statuses returns every status controllers wrote to the source's objects, sorted by kind,
// key and controller. The result is the caller's to keep.
func (s *Source) Statuses() []mesh.Status {
	if s.loader == nil {
		return nil
	}
	return s.loader.listStatuses()
}

// Interface guards
var (
	_ mesh.StatusWriter = (*Source)(nil)
	_ mesh.StatusLister = (*Source)(nil)
)
