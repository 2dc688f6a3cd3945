package xds

import (
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"time"

	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// Bounds on a NACK's error_detail. It goes back to the management server, into its logs
// and status pages; a response with thousands of bad resources must not turn into a
// message of megabytes. Every rejected resource is still reported in Event.Rejected.
const (
	maxNackResources = 100
	maxNackBytes     = 64 << 10
)

// nackState remembers the last response a type NACKed, so that the same response sent
// again is NACKed after a growing delay instead of at once.
//
// A state-of-the-world server answers every request whose version_info differs from its
// own at once (go-control-plane's caches do), and a NACK carries the last accepted
// version, so "server resends the bad response, client NACKs it" would otherwise loop as
// fast as the network allows. Delaying the repeated NACKs with AdsConfig.Backoff bounds
// the loop; the resources of each repeat that are valid are still applied at once, and a
// different response (a fix) resets the delay.
type nackState struct {
	fingerprint uint64
	repeats     int
	// pending is the error_detail of a NACK waiting out its delay; nil when none.
	pending *statuspb.Status
	seq     uint64
	timer   *time.Timer
}

// reset forgets the rejected response, after one was accepted whole.
func (n *nackState) reset() {
	n.fingerprint, n.repeats = 0, 0
	n.cancel()
}

// cancel drops a delayed NACK: the stream it was for is gone, or a newer response
// supersedes it.
func (n *nackState) cancel() {
	n.pending = nil
	n.seq++
	if n.timer != nil {
		n.timer.Stop()
		n.timer = nil
	}
}

// nackDelay records a NACKed response and returns how long to hold its NACK back: 0 the
// first time, then Backoff's schedule for each identical repeat.
func (l *loop) nackDelay(ts *typeState, fp uint64) time.Duration {
	n := &ts.nack
	if fp == n.fingerprint {
		n.repeats++
	} else {
		n.fingerprint, n.repeats = fp, 0
	}
	if n.repeats == 0 {
		return 0
	}
	return l.c.cfg.Backoff.Delay(n.repeats - 1)
}

// deferNack holds a NACK back for delay; the loop sends it with sendPendingNack unless
// something supersedes it first.
func (l *loop) deferNack(ts *typeState, detail *statuspb.Status, delay time.Duration) {
	n := &ts.nack
	n.cancel()
	n.pending = detail
	msg := msgNackDue{gen: l.gen, typeURL: ts.url, seq: n.seq}
	inbox := l.c.inbox
	n.timer = time.AfterFunc(delay, func() { inbox.push(msg) })
	l.log.Warn("the server sent the same rejected response again; delaying the NACK",
		logType(ts.url), logNonce(ts.nonce), logDuration(delay), logCount(n.repeats))
}

// respond sends the ACK or NACK of r, holding a repeated NACK back (see nackState).
func (l *loop) respond(r *response, nack *statuspb.Status) {
	ts := r.ts
	send := func(detail *statuspb.Status) {
		if l.delta {
			l.deltaAck(ts, detail)
		} else {
			l.sotwRequest(ts, detail)
		}
	}
	if nack == nil {
		send(nil)
		return
	}
	l.log.Warn("NACK", logType(ts.url), logNonce(r.nonce), logVersion(ts.version), logDetail(nack.GetMessage()))
	if d := l.nackDelay(ts, fingerprint(l.seed, r)); d > 0 {
		l.deferNack(ts, nack, d)
		return
	}
	send(nack)
}

// sendPendingNack sends a NACK whose delay has passed, unless it was superseded.
func (l *loop) sendPendingNack(url TypeURL, seq uint64) {
	ts := l.types[url]
	if ts == nil || ts.nack.seq != seq || ts.nack.pending == nil {
		return
	}
	detail := ts.nack.pending
	ts.nack.pending, ts.nack.timer = nil, nil
	if l.delta {
		l.deltaAck(ts, detail)
	} else {
		l.sotwRequest(ts, detail)
	}
}

// fingerprint identifies a response by its content, so that a resend is recognised
// whatever its nonce. Servers list resources in no particular order (go-control-plane
// walks a map), so the resources are hashed one by one and the hashes summed.
func fingerprint(seed maphash.Seed, r *response) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	sum := uint64(0)
	for _, it := range r.items {
		h.Reset()
		h.WriteString(it.name)
		h.WriteByte(0)
		h.WriteString(it.version)
		h.WriteByte(0)
		h.Write(it.raw)
		sum += h.Sum64()
	}
	for _, n := range r.removed {
		h.Reset()
		h.WriteByte(1)
		h.WriteString(n)
		sum += h.Sum64()
	}
	h.Reset()
	h.WriteString(string(r.ts.url))
	h.WriteByte(0)
	h.WriteString(r.version)
	return h.Sum64() ^ sum
}

// nackDetail is the error_detail of a NACK: INVALID_ARGUMENT, with a message naming each
// rejected resource and every reason, as Envoy's NACKs do.
func nackDetail(url TypeURL, total int, rejected map[string]error, overLimit error) *statuspb.Status {
	var b strings.Builder
	if overLimit != nil {
		b.WriteString(errorText(overLimit))
	}
	names := slices.Sorted(maps.Keys(rejected))
	invalid := 0
	for _, name := range names {
		if KindOf(rejected[name]) == KindOverLimit {
			continue
		}
		if invalid == 0 {
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "rejected %d of %d %s resources:", countInvalid(rejected), total, url.MessageName())
		}
		invalid++
		if invalid > maxNackResources || b.Len() > maxNackBytes {
			fmt.Fprintf(&b, "\n- and %d more", countInvalid(rejected)-invalid+1)
			break
		}
		fmt.Fprintf(&b, "\n- %q: %s", name, errorText(rejected[name]))
	}
	return &statuspb.Status{Code: int32(codes.InvalidArgument), Message: b.String()}
}

func countInvalid(rejected map[string]error) int {
	n := 0
	for _, err := range rejected {
		if KindOf(err) != KindOverLimit {
			n++
		}
	}
	return n
}

// errorText is the reason of a rejection without our own "xds invalid-resource: ..."
// prefix, which means nothing to the server: the validation error itself when there is
// one, which names the resource and lists every problem.
func errorText(err error) string {
	var verr *resource.ValidationError
	if errors.As(err, &verr) {
		return verr.Error()
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Err != nil {
			return e.Msg + ": " + e.Err.Error()
		}
		return e.Msg
	}
	return err.Error()
}
