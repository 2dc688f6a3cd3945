package xds

import (
	"slices"
	"time"
)

// expiryQueue runs the does-not-exist timers of every subscribed name on one timer. All
// timers have the same length (AdsConfig.ResourceDoesNotExistTimeout), so they expire in
// the order they were started and a FIFO is a priority queue: starting, cancelling and
// expiring a timer are O(1), which matters when auto-subscription asks for ten thousand
// endpoints at once. A cancelled timer is not removed; its entry is recognised as stale
// by its watch's seq when it reaches the head.
type expiryQueue struct {
	entries []expiryEntry
	head    int
	timer   *time.Timer
	// armed is set while timer is pending; it is reset when its wake-up is handled.
	armed bool
	seq   uint64
}

type expiryEntry struct {
	ts       *typeState
	name     string
	seq      uint64
	deadline time.Time
}

// startWatch starts the does-not-exist timer of a name that has just been asked for on the
// stream. Names already seen, already reported missing or already timed are left alone.
func (l *loop) startWatch(ts *typeState, name string) {
	w := ts.watches[name]
	if w == nil || w.state != watchPending {
		return
	}
	q := &l.expiry
	q.seq++
	w.state, w.seq = watchRequested, q.seq
	q.entries = append(q.entries, expiryEntry{ts: ts, name: name, seq: q.seq, deadline: time.Now().Add(l.c.cfg.ResourceDoesNotExistTimeout)})
	l.armExpiry()
}

// armExpiry sets the timer for the head entry, unless it is already set: the head can only
// move later, so an armed timer is never late.
func (l *loop) armExpiry() {
	q := &l.expiry
	if q.armed || q.head == len(q.entries) {
		return
	}
	q.armed = true
	inbox := l.c.inbox
	q.timer = time.AfterFunc(time.Until(q.entries[q.head].deadline), func() { inbox.push(msgExpiry{}) })
}

// expire reports every name whose timer has run out, one EventDoesNotExist per type.
func (l *loop) expire() {
	q := &l.expiry
	q.armed = false
	now := time.Now()
	var missing map[*typeState][]string
	for q.head < len(q.entries) && !q.entries[q.head].deadline.After(now) {
		e := q.entries[q.head]
		q.entries[q.head] = expiryEntry{}
		q.head++
		w := e.ts.watches[e.name]
		if w == nil || w.seq != e.seq || w.state != watchRequested {
			continue // cancelled, seen, or restarted since
		}
		w.state = watchMissing
		if missing == nil {
			missing = make(map[*typeState][]string)
		}
		missing[e.ts] = append(missing[e.ts], e.name)
	}
	if q.head == len(q.entries) {
		q.entries, q.head = q.entries[:0], 0
	}
	for _, url := range l.order {
		ts := l.types[url]
		if names := missing[ts]; len(names) > 0 {
			l.emitMissing(ts, names)
		}
	}
	l.armExpiry()
}

// emitMissing reports names as not existing.
func (l *loop) emitMissing(ts *typeState, names []string) {
	slices.Sort(names)
	l.log.Warn("xDS resources do not exist", logType(ts.url), logNames(names))
	l.emit(Event{Type: EventDoesNotExist, TypeURL: ts.url, Names: names})
}

// pauseWatches stops every running timer when the stream breaks: with no stream, the
// server cannot be blamed for not answering. The names are timed again when the new
// stream asks for them.
func (l *loop) pauseWatches() {
	for _, ts := range l.types {
		for _, w := range ts.watches {
			if w.state == watchRequested {
				w.state = watchPending
			}
		}
	}
	q := &l.expiry
	clear(q.entries[q.head:])
	q.entries, q.head = q.entries[:0], 0
	l.stopExpiryTimer()
}

func (l *loop) stopExpiryTimer() {
	q := &l.expiry
	if q.timer != nil {
		q.timer.Stop()
	}
	q.armed = false
}
