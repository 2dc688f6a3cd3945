package xds

import (
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
)

// sotwRequest sends ts's state-of-the-world request: every subscribed name, the last
// accepted version and the latest nonce. The same request serves as the first request on
// a stream, a subscription change, an ACK and (with detail) a NACK, because in this
// protocol each request restates the whole subscription. A NACK waiting out its delay
// goes with it, so that no rejection goes unreported.
//
// Always sending the latest nonce matters: a server ignores a request whose nonce is not
// that of its last response for the type (go-control-plane does, as the protocol says),
// so a subscription change that crossed a response on the wire is lost, and the ACK of
// that response must carry the new names for the change to take effect.
func (l *loop) sotwRequest(ts *typeState, detail *statuspb.Status) {
	if ts.nack.pending != nil {
		if detail == nil {
			detail = ts.nack.pending
		}
		ts.nack.cancel()
	}
	l.sendSotw(&discoveryv3.DiscoveryRequest{
		TypeUrl:       string(ts.url),
		VersionInfo:   ts.version,
		ResourceNames: l.sotwNames(ts),
		ResponseNonce: ts.nonce,
		ErrorDetail:   detail,
	})
}

// sotwNames is the resource_names of a request. A wildcard alone is the empty list (the
// legacy form every server understands) until a request with names has gone out on the
// stream; after that the server reads an empty list as "nothing", and the wildcard is
// sent as "*" next to any names.
func (l *loop) sotwNames(ts *typeState) []string {
	names := ts.sub.names()
	if !ts.sub.wildcard {
		return names
	}
	if len(names) == 0 && !l.cur.sotwNamed[ts.url] {
		return nil
	}
	return append([]string{Wildcard}, names...)
}

// sotwResponse applies a state-of-the-world response and ACKs or NACKs it.
func (l *loop) sotwResponse(resp *discoveryv3.DiscoveryResponse) {
	url := TypeURL(resp.GetTypeUrl())
	ts, ok := l.types[url]
	if !ok {
		l.log.Warn("ignoring a response for a type never subscribed", logType(url), logNonce(resp.GetNonce()))
		return
	}
	ts.nonce = resp.GetNonce()
	ts.nack.cancel() // superseded by this response's own ACK or NACK
	r := &response{ts: ts, version: resp.GetVersionInfo(), nonce: resp.GetNonce(), items: decodeSotw(url, resp.GetResources())}
	out := l.apply(r)
	out.event.Type = EventResponse
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
