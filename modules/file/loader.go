package file

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/file/manifest"
	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

type loaderConfig struct {
	source   string
	paths    []string // absolute; files, directories or globs
	debounce time.Duration
	watch    bool
	logger   *zap.Logger
}

// loader is a file source's long-lived state: its collections, what it last read from each
// file, and the watcher. It outlives config reloads in the source pool.
type loader struct {
	cfg      loaderConfig
	stores   map[string]kindStore
	statuses *statusStore // what controllers reported on the objects

	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex            // serialises sync; guards files
	files map[string]*fileState // path → what was last read from it
}

// fileState is what one file last yielded.
type fileState struct {
	sum  [sha256.Size]byte
	objs []manifest.Object // what the file contributes: good documents, and last good ones it broke
	errs []*manifest.Error // the problems of its current content
	read error             // the file could not be read
}

func startLoader(cfg loaderConfig) (*loader, error) {
	l := &loader{
		cfg:      cfg,
		stores:   newStores(cfg.source),
		statuses: newStatusStore(),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		files:    make(map[string]*fileState),
	}
	var w *fsnotify.Watcher
	if cfg.watch {
		var err error
		if w, err = fsnotify.NewWatcher(); err != nil {
			return nil, fmt.Errorf("watching manifests: %w", err)
		}
		// Watch before the first read, so a write between the two is not missed.
		l.addWatches(w)
	}
	l.sync()
	if w == nil {
		close(l.done)
		return l, nil
	}
	go l.watchLoop(w)
	return l, nil
}

func (l *loader) publish(p *mesh.Publisher) error {
	for kind, st := range l.stores {
		if err := st.publish(p); err != nil {
			return fmt.Errorf("publishing %s: %w", kind, err)
		}
	}
	return nil
}

// Destruct stops watching. The collections keep their last content.
func (l *loader) Destruct() error {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	return nil
}

// sync re-reads the manifests and resets every collection to what they now say. Files whose
// content did not change are not decoded again, and collections emit events only for objects
// that changed.
func (l *loader) sync() {
	l.mu.Lock()
	defer l.mu.Unlock()

	paths, pathErrs := resolve(l.cfg.paths)
	present := make(map[string]struct{}, len(paths))
	for _, path := range paths {
		present[path] = struct{}{}
		l.readFile(path)
	}
	for path := range l.files {
		if _, ok := present[path]; !ok {
			l.cfg.logger.Info("manifest file removed", zap.String("file", path))
			delete(l.files, path) // a deleted file is not a broken one: its objects go
		}
	}

	byKind, errsByKind, errsAll := l.collect(paths)
	for _, err := range pathErrs {
		l.cfg.logger.Error("reading manifests", zap.String("source", l.cfg.source), zap.Error(err))
	}
	errsAll = append(errsAll, pathErrs...)
	for kind, st := range l.stores {
		st.reset(byKind[kind])
		st.setError(errors.Join(append(errsAll[:len(errsAll):len(errsAll)], errsByKind[kind]...)...))
	}
	l.pruneStatuses()
}

// readFile brings one file's state up to date with its content.
func (l *loader) readFile(path string) {
	prev := l.files[path]
	data, err := os.ReadFile(path)
	if err != nil {
		st := &fileState{read: fmt.Errorf("reading %s: %w", path, err)}
		if prev != nil {
			st.objs, st.sum = prev.objs, prev.sum // keep the last good objects
		}
		l.files[path] = st
		l.cfg.logger.Error("reading manifest file; keeping its last good objects", zap.String("file", path), zap.Error(err))
		return
	}
	sum := sha256.Sum256(data)
	if prev != nil && prev.read == nil && prev.sum == sum {
		return
	}
	objs, errs := manifest.Decode(path, data)
	st := &fileState{sum: sum, objs: objs, errs: errs}
	if len(errs) > 0 && prev != nil {
		// The edit broke something: documents that still decode take their new version, and
		// every other object of the file keeps its last good one until the file is fixed.
		st.objs = overlay(prev.objs, objs)
	}
	l.files[path] = st
	for _, e := range errs {
		msg := "invalid manifest document"
		if prev != nil {
			msg += "; keeping the file's last good objects"
		}
		l.cfg.logger.Error(msg, zap.String("file", e.File), zap.Int("document", e.Doc), zap.String("field", e.Field), zap.String("error", e.Msg))
	}
	if len(errs) == 0 {
		l.cfg.logger.Info("loaded manifest file", zap.String("file", path), zap.Int("objects", len(objs)))
	}
}

// overlay returns base with each object of top replacing the base object of the same kind
// and key, and top's new objects added.
func overlay(base, top []manifest.Object) []manifest.Object {
	type id struct{ kind, key string }
	idx := make(map[id]int, len(base))
	out := make([]manifest.Object, len(base), len(base)+len(top))
	copy(out, base)
	for i, o := range out {
		idx[id{o.Kind, o.Key}] = i
	}
	for _, o := range top {
		if i, ok := idx[id{o.Kind, o.Key}]; ok {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out
}

// collect groups the files' objects by kind. An object defined in two files is taken from
// the first (in path order) and reported. Errors are attributed to their kind when the
// document's kind is known, and to every collection of the source otherwise.
func (l *loader) collect(paths []string) (byKind map[string][]model.Object, errsByKind map[string][]error, errsAll []error) {
	byKind = make(map[string][]model.Object)
	errsByKind = make(map[string][]error)
	type id struct{ kind, key string }
	origin := make(map[id]string)
	for _, path := range paths {
		st := l.files[path]
		if st == nil {
			continue
		}
		if st.read != nil {
			errsAll = append(errsAll, st.read)
		}
		for _, e := range st.errs {
			if e.Kind != "" {
				errsByKind[e.Kind] = append(errsByKind[e.Kind], e)
			} else {
				errsAll = append(errsAll, e)
			}
		}
		for _, o := range st.objs {
			if first, dup := origin[id{o.Kind, o.Key}]; dup {
				err := fmt.Errorf("%s: document %d: %s %q is already defined in %s; ignoring this one", path, o.Doc, o.Kind, o.Key, first)
				errsByKind[o.Kind] = append(errsByKind[o.Kind], err)
				continue
			}
			origin[id{o.Kind, o.Key}] = path
			byKind[o.Kind] = append(byKind[o.Kind], o.Obj)
		}
	}
	return byKind, errsByKind, errsAll
}
