package file

import (
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// maxDelay bounds how long a continuous burst of writes can hold an update back.
const maxDelay = time.Second

// watchLoop re-reads the manifests after changes, debounced: it waits until the files have
// been quiet for the debounce period, or maxDelay after the first change, whichever is first.
func (l *loader) watchLoop(w *fsnotify.Watcher) {
	defer close(l.done)
	defer w.Close()

	var (
		timer    *time.Timer
		fire     <-chan time.Time
		deadline time.Time
	)
	for {
		select {
		case <-l.stop:
			if timer != nil {
				timer.Stop()
			}
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue // attribute changes do not change manifests
			}
			now := time.Now()
			if fire == nil {
				deadline = now.Add(maxDelay)
				timer = time.NewTimer(l.cfg.debounce)
				fire = timer.C
				continue
			}
			wait := min(l.cfg.debounce, time.Until(deadline))
			timer.Reset(max(wait, 0))
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			l.cfg.logger.Warn("watching manifests", zap.String("source", l.cfg.source), zap.Error(err))
		case <-fire:
			fire = nil
			l.sync()
			l.addWatches(w) // directories may have appeared since
		}
	}
}

// addWatches watches the directories of the configured paths that exist now.
func (l *loader) addWatches(w *fsnotify.Watcher) {
	for _, dir := range watchDirs(l.cfg.paths) {
		if err := w.Add(dir); err != nil {
			l.cfg.logger.Debug("cannot watch directory yet", zap.String("dir", dir), zap.Error(err))
		}
	}
}
