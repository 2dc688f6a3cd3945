package xds

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"go.uber.org/zap"
)

// loop is the client's single protocol goroutine: it owns every type's subscriptions,
// versions, nonces and last good state, opens streams, and handles responses, commands
// and timers in the order they arrive in the inbox. Having one owner is what makes "the
// latest nonce", "the last accepted version" and "what to restore on reconnect" simple
// to get right; nothing it does blocks on a consumer.
type loop struct {
	c     *AdsClient
	log   *zap.Logger
	node  *corev3.Node
	delta bool
	seed  maphash.Seed

	// types is read by State under c.stateMu; the loop adds to it only under that lock.
	types map[TypeURL]*typeState
	// order lists the types in the order of first subscription, so that requests go out
	// in a reproducible order (LDS before RDS, when subscribed in that order).
	order []TypeURL
	// total counts the resources held, all types together, for ResourceLimit.
	total int

	// cur is the current stream; nil while waiting to reconnect.
	cur *streamConn
	gen uint64
	// retries counts failed streams since the last one that received a response.
	retries      int
	disconnected bool
	retryTimer   *time.Timer

	expiry expiryQueue
	// workers are the stream goroutines; run waits for them before returning.
	workers sync.WaitGroup
}

// Messages in the inbox, besides subscribeCmd. gen ties a message to the stream it is
// about, so that one from a stream already replaced is dropped.
type (
	msgStreamOpened struct {
		gen    uint64
		stream wireStream
	}
	msgResponse struct {
		gen  uint64
		resp any
	}
	msgStreamEnded struct {
		gen uint64
		err error
	}
	msgRetry   struct{ gen uint64 }
	msgExpiry  struct{}
	msgNackDue struct {
		gen     uint64
		typeURL TypeURL
		seq     uint64
	}
)

func newLoop(c *AdsClient, node *corev3.Node) *loop {
	return &loop{
		c:     c,
		log:   c.log,
		node:  node,
		delta: c.cfg.UseDelta(),
		seed:  maphash.MakeSeed(),
		types: make(map[TypeURL]*typeState),
	}
}

// run serves the inbox until ctx ends, then stops the stream and waits for its goroutine.
func (l *loop) run(ctx context.Context) {
	defer close(l.c.loopDone)
	defer l.shutdown()
	l.startStream(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.c.inbox.ready:
		}
		for ctx.Err() == nil {
			m, ok := l.c.inbox.pop()
			if !ok {
				break
			}
			l.dispatch(ctx, m)
		}
	}
}

// dispatch handles one inbox message.
func (l *loop) dispatch(ctx context.Context, m any) {
	switch m := m.(type) {
	case subscribeCmd:
		l.applyCommand(m)
	case msgStreamOpened:
		if l.current(m.gen) {
			l.streamOpened(m.stream)
		}
	case msgResponse:
		if l.current(m.gen) {
			l.onResponse(m.resp)
		}
	case msgStreamEnded:
		if l.current(m.gen) {
			l.streamEnded(ctx, m.err)
		}
	case msgRetry:
		if l.cur == nil && m.gen == l.gen {
			l.startStream(ctx)
		}
	case msgExpiry:
		l.expire()
	case msgNackDue:
		if l.current(m.gen) {
			l.sendPendingNack(m.typeURL, m.seq)
		}
	}
}

// current reports whether gen is the live stream's.
func (l *loop) current(gen uint64) bool { return l.cur != nil && l.cur.gen == gen }

// shutdown stops the timers and the stream, and waits for the stream goroutine, so that
// Close leaves nothing running.
func (l *loop) shutdown() {
	if l.retryTimer != nil {
		l.retryTimer.Stop()
	}
	l.stopExpiryTimer()
	for _, ts := range l.types {
		ts.nack.cancel()
	}
	if l.cur != nil {
		l.cur.cancel()
		l.cur = nil
	}
	l.workers.Wait()
}

// typeState returns the state of url, creating it on first use.
func (l *loop) typeState(url TypeURL) *typeState {
	if ts, ok := l.types[url]; ok {
		return ts
	}
	ts := newTypeState(url)
	l.c.stateMu.Lock()
	l.types[url] = ts
	l.c.stateMu.Unlock()
	l.order = append(l.order, url)
	return ts
}

// emit queues an event for Next.
func (l *loop) emit(ev Event) { l.c.events.push(ev) }

// applyCommand carries out a Subscribe or Unsubscribe.
func (l *loop) applyCommand(cmd subscribeCmd) {
	ts := l.typeState(cmd.typeURL)
	var added, removed []string
	wildcard := false
	if cmd.subscribe {
		if cmd.wildcard && !ts.sub.wildcard {
			ts.sub.wildcard, wildcard = true, true
		}
		added = ts.sub.addExplicit(cmd.names)
	} else {
		if cmd.wildcard && ts.sub.wildcard {
			ts.sub.wildcard, wildcard = false, true
		}
		removed = ts.sub.removeExplicit(cmd.names)
	}
	if len(added) > 0 || len(removed) > 0 || wildcard {
		l.resubscribe(ts, added, removed, wildcard)
	}
}

// resubscribe finishes a change of ts's subscription, whoever made it: resources no
// longer subscribed leave the state (and release what they referred to), new names get
// does-not-exist watches, and the server is told at once, whether or not a response is
// pending.
func (l *loop) resubscribe(ts *typeState, added, removed []string, wildcardChanged bool) {
	for _, name := range removed {
		delete(ts.watches, name)
	}
	l.dropUnwanted(ts, removed, wildcardChanged && !ts.sub.wildcard)
	for _, name := range added {
		if _, ok := ts.watches[name]; ok || isGlob(name) {
			continue
		}
		w := &watch{state: watchPending}
		if _, ok := ts.held[name]; ok {
			w.state = watchSeen
		}
		ts.watches[name] = w
	}
	if l.cur == nil || !l.cur.open {
		return // the next stream restores the whole subscription
	}
	if l.delta {
		l.deltaResubscribe(ts, added, removed, wildcardChanged)
	} else {
		l.sotwRequest(ts, nil)
	}
	for _, name := range added {
		l.startWatch(ts, name)
	}
}

// dropUnwanted removes from the state the resources of ts that are no longer subscribed:
// the given names, or every resource when the wildcard was withdrawn. They are reported
// in an event of their own, and what they referred to is released in turn.
func (l *loop) dropUnwanted(ts *typeState, names []string, wildcardGone bool) {
	var gone []string
	if wildcardGone {
		for name := range ts.held {
			if !ts.sub.wants(name) {
				gone = append(gone, name)
			}
		}
	} else {
		for _, name := range names {
			if _, ok := ts.held[name]; ok && !ts.sub.wants(name) {
				gone = append(gone, name)
			}
		}
	}
	if len(gone) == 0 {
		return
	}
	l.store(ts, nil, gone)
	deps := l.updateDeps(ts, nil, gone)
	ev := Event{Type: EventResponse, TypeURL: ts.url, Version: ts.version, Removed: gone}
	if l.delta {
		ev.Type = EventDeltaResponse
	}
	l.emit(ev)
	l.applyDeps(deps)
}
