package xds

import (
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
)

// deltaRestore sends ts's first delta request on a new stream: every subscribed name (the
// wildcard as "*", as the protocol spells an explicit wildcard) and, in
// initial_resource_versions, the version of each resource held, so that the server sends
// only what changed while we were away and removes what went.
func (l *loop) deltaRestore(ts *typeState) {
	names := ts.sub.names()
	if ts.sub.wildcard {
		names = append(names, Wildcard)
	}
	var versions map[string]string
	if len(ts.held) > 0 {
		versions = make(map[string]string, len(ts.held))
		for name, h := range ts.held {
			if h.version != "" {
				versions[name] = h.version
			}
		}
	}
	l.sendDelta(&discoveryv3.DeltaDiscoveryRequest{
		TypeUrl:                 string(ts.url),
		ResourceNamesSubscribe:  names,
		InitialResourceVersions: versions,
	})
}

// deltaResubscribe sends a subscription change. It goes out at once, independent of any
// ACK: delta requests that change subscriptions carry no nonce, and the server answers
// them whatever else is in flight.
func (l *loop) deltaResubscribe(ts *typeState, added, removed []string, wildcardChanged bool) {
	req := &discoveryv3.DeltaDiscoveryRequest{
		TypeUrl:                  string(ts.url),
		ResourceNamesSubscribe:   added,
		ResourceNamesUnsubscribe: removed,
	}
	if wildcardChanged {
		if ts.sub.wildcard {
			req.ResourceNamesSubscribe = append(req.ResourceNamesSubscribe, Wildcard)
		} else {
			req.ResourceNamesUnsubscribe = append(req.ResourceNamesUnsubscribe, Wildcard)
		}
	}
	if len(req.ResourceNamesSubscribe) == 0 && len(req.ResourceNamesUnsubscribe) == 0 {
		return
	}
	l.sendDelta(req)
}

// deltaAck ACKs (detail nil) or NACKs the last response of ts.
func (l *loop) deltaAck(ts *typeState, detail *statuspb.Status) {
	l.sendDelta(&discoveryv3.DeltaDiscoveryRequest{
		TypeUrl:       string(ts.url),
		ResponseNonce: ts.nonce,
		ErrorDetail:   detail,
	})
}

// deltaResponse applies a delta response and ACKs or NACKs it.
func (l *loop) deltaResponse(resp *discoveryv3.DeltaDiscoveryResponse) {
	url := TypeURL(resp.GetTypeUrl())
	ts, ok := l.types[url]
	if !ok {
		l.log.Warn("ignoring a response for a type never subscribed", logType(url), logNonce(resp.GetNonce()))
		return
	}
	ts.nonce = resp.GetNonce()
	ts.nack.cancel() // superseded by this response's own ACK or NACK
	items := make([]received, len(resp.GetResources()))
	for i, res := range resp.GetResources() {
		items[i] = decodeWrapped(url, res)
	}
	r := &response{ts: ts, version: resp.GetSystemVersionInfo(), nonce: resp.GetNonce(), items: items, removed: deltaRemoved(resp)}
	out := l.apply(r)
	out.event.Type = EventDeltaResponse
	if out.nack == nil {
		ts.version = r.version
		ts.nack.reset()
	}
	l.emit(out.event)
	if len(out.missing) > 0 {
		l.emitMissing(ts, out.missing)
	}
	l.respond(r, out.nack)
	l.applyDeps(out.deps)
}

// deltaRemoved collects removed_resources and removed_resource_names (the newer field
// that can carry dynamic parameters), canonical; malformed names cannot be ours and are
// skipped.
func deltaRemoved(resp *discoveryv3.DeltaDiscoveryResponse) []string {
	n := len(resp.GetRemovedResources()) + len(resp.GetRemovedResourceNames())
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	add := func(s string) {
		if c, err := canonicalName(s); err == nil {
			out = append(out, c)
		}
	}
	for _, s := range resp.GetRemovedResources() {
		add(s)
	}
	for _, rn := range resp.GetRemovedResourceNames() {
		add(rn.GetName())
	}
	return out
}
