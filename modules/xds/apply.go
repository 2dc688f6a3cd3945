package xds

import (
	"errors"
	"fmt"

	statuspb "google.golang.org/genproto/googleapis/rpc/status"

	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// response is one discovery response, state of the world or delta, decoded.
type response struct {
	ts      *typeState
	version string
	nonce   string
	items   []received
	// removed are delta's removed_resources, canonical.
	removed []string
}

// outcome is what applying a response decided.
type outcome struct {
	event Event
	// nack is the error_detail to send; nil to ACK.
	nack *statuspb.Status
	// missing are subscribed names the server said it does not have.
	missing []string
	// deps are the subscription changes of other types that auto-subscription derived.
	deps depChanges
}

// apply validates a response against the subscription and the resource limit and
// applies what is valid (gRFC A46): valid resources replace their last good values,
// invalid ones keep theirs and are reported for the NACK. A response that would exceed
// AdsConfig.ResourceLimit changes nothing. The cost is that of the response, not of the
// state held, except for full-state types, whose responses are the whole state anyway.
func (l *loop) apply(r *response) outcome {
	ts := r.ts
	accepted := make(map[string]received, len(r.items))
	rejected := map[string]error{}
	var seen map[string]struct{}
	if ts.fullState && !l.delta {
		seen = make(map[string]struct{}, len(r.items))
	}
	for i, it := range r.items {
		if it.name == "" {
			rejected[fmt.Sprintf("[%d]", i)] = it.err
			continue
		}
		if !ts.sub.wants(it.name) {
			l.log.Debug("ignoring a resource that was not subscribed", logType(ts.url), logName(it.name))
			continue
		}
		if seen != nil {
			seen[it.name] = struct{}{}
		}
		if _, dup := accepted[it.name]; dup || rejected[it.name] != nil {
			delete(accepted, it.name)
			rejected[it.name] = invalid(ts.url, it.name, "sent twice in one response", nil)
			continue
		}
		l.markSeen(ts, it.name)
		switch {
		case it.err != nil:
			rejected[it.name] = it.err
		case !it.heartbeat:
			accepted[it.name] = it
		}
	}

	var out outcome
	removed := l.removals(r, seen, &out)

	var overLimit error
	if err := l.checkLimit(ts, accepted, removed); err != nil {
		overLimit = err
		for name := range accepted {
			rejected[name] = err
		}
		accepted, removed = nil, nil
	}

	resources := l.store(ts, accepted, removed)
	out.deps = l.updateDeps(ts, resources, removed)
	out.event = Event{
		TypeURL:   ts.url,
		Version:   r.version,
		Nonce:     r.nonce,
		Resources: resources,
		Removed:   removed,
	}
	if len(rejected) > 0 {
		out.event.Rejected = rejected
		out.nack = nackDetail(ts.url, len(r.items), rejected, overLimit)
		out.event.Err = overLimit
		if overLimit == nil {
			out.event.Err = &Error{Kind: KindNack, TypeURL: ts.url,
				Msg: fmt.Sprintf("rejected %d of %d resources; their last good versions are kept", len(rejected), len(r.items)),
				Err: errors.New(out.nack.GetMessage())}
		}
	}
	return out
}

// removals works out which held resources the response removes: delta's
// removed_resources, or for a full-state type the held resources missing from it. Names
// the server removes without our holding them, and that we are waiting for, do not exist.
func (l *loop) removals(r *response, seen map[string]struct{}, out *outcome) []string {
	ts := r.ts
	var removed []string
	for _, name := range r.removed {
		if _, ok := ts.held[name]; ok {
			removed = append(removed, name)
			continue
		}
		if w := ts.watches[name]; w != nil && (w.state == watchPending || w.state == watchRequested) {
			w.state = watchMissing
			out.missing = append(out.missing, name)
		}
	}
	if seen != nil {
		for name := range ts.held {
			if _, ok := seen[name]; !ok {
				removed = append(removed, name)
			}
		}
	}
	return removed
}

// checkLimit refuses a response that would make the client hold more resources, of all
// types together, than AdsConfig.ResourceLimit.
func (l *loop) checkLimit(ts *typeState, accepted map[string]received, removed []string) error {
	limit := l.c.cfg.ResourceLimit
	if limit <= 0 {
		return nil
	}
	total := l.total - len(removed)
	for name := range accepted {
		if _, ok := ts.held[name]; !ok {
			total++
		}
	}
	if total <= limit {
		return nil
	}
	return &Error{Kind: KindOverLimit, TypeURL: ts.url,
		Msg: fmt.Sprintf("the response would bring the resources held to %d, over the limit of %d; it is refused whole and the last good state kept", total, limit)}
}

// store writes accepted and removed resources into the last good state and returns the
// accepted views by name, for the event.
func (l *loop) store(ts *typeState, accepted map[string]received, removed []string) map[string]resource.Resource {
	resources := make(map[string]resource.Resource, len(accepted))
	l.c.stateMu.Lock()
	defer l.c.stateMu.Unlock()
	for name, it := range accepted {
		if _, ok := ts.held[name]; !ok {
			l.total++
		}
		ts.held[name] = held{res: it.res, version: it.version}
		resources[name] = it.res
	}
	for _, name := range removed {
		if _, ok := ts.held[name]; ok {
			delete(ts.held, name)
			l.total--
		}
	}
	return resources
}

// markSeen stops the does-not-exist timer of a name the server sent: even a rejected
// resource exists.
func (l *loop) markSeen(ts *typeState, name string) {
	if w := ts.watches[name]; w != nil {
		w.state = watchSeen
	}
}
