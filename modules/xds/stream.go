package xds

import (
	"context"
	"errors"
	"io"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// The two ADS streams, as gRPC generates them.
type (
	sotwStream  = grpc.BidiStreamingClient[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]
	deltaStream = grpc.BidiStreamingClient[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]
)

// wireStream is either stream, as handed from the stream goroutine to the loop.
type wireStream any

// streamConn is the loop's view of one stream, from the attempt to open it to its end.
type streamConn struct {
	gen    uint64
	cancel context.CancelFunc
	// open is set once the stream exists; until then requests wait for restore.
	open  bool
	sotw  sotwStream
	delta deltaStream
	// nodeSent is set after the first request, the only one that carries the node.
	nodeSent bool
	// received is set by the first response, which proves the server and our
	// credentials good: it resets the backoff and ends a disconnection.
	received bool
	// broken is set when a send failed; the reason arrives from the receive side.
	broken bool
	// sotwNamed records, per type, that a request with names went out on this stream:
	// from then on an empty list means "nothing" to the server, so a wildcard must be
	// spelled "*".
	sotwNamed map[TypeURL]bool
}

// startStream opens a new stream in the background. Opening blocks while gRPC connects,
// so it happens on the stream goroutine, and the loop stays free for commands meanwhile.
func (l *loop) startStream(ctx context.Context) {
	l.gen++
	sctx, cancel := context.WithCancel(ctx)
	l.cur = &streamConn{gen: l.gen, cancel: cancel, sotwNamed: make(map[TypeURL]bool)}
	l.workers.Add(1)
	go func(gen uint64) {
		defer l.workers.Done()
		l.c.runStream(sctx, gen, l.delta)
	}(l.gen)
}

// runStream opens a stream and forwards everything it receives to the inbox until it
// ends. It touches no loop state.
func (c *AdsClient) runStream(ctx context.Context, gen uint64, delta bool) {
	ads := discoveryv3.NewAggregatedDiscoveryServiceClient(c.conn)
	if delta {
		s, err := ads.DeltaAggregatedResources(ctx)
		pump(c.inbox, gen, s, err)
		return
	}
	s, err := ads.StreamAggregatedResources(ctx)
	pump(c.inbox, gen, s, err)
}

// pump reads one stream into the inbox. The inbox never blocks, so the server's sends
// are always drained, whatever the loop is doing.
func pump[Req, Resp any](inbox *mailbox[any], gen uint64, s grpc.BidiStreamingClient[Req, Resp], err error) {
	if err != nil {
		inbox.push(msgStreamEnded{gen: gen, err: err})
		return
	}
	inbox.push(msgStreamOpened{gen: gen, stream: s})
	for {
		resp, err := s.Recv()
		if err != nil {
			inbox.push(msgStreamEnded{gen: gen, err: err})
			return
		}
		inbox.push(msgResponse{gen: gen, resp: resp})
	}
}

// streamOpened restores every subscription on a new stream: nonces start afresh, the
// last accepted versions (state of the world) or the versions held (delta) are sent, and
// the does-not-exist timers of names not yet seen start again.
func (l *loop) streamOpened(s wireStream) {
	cur := l.cur
	switch s := s.(type) {
	case sotwStream:
		cur.sotw = s
	case deltaStream:
		cur.delta = s
	}
	cur.open = true
	l.log.Info("ADS stream opened", zap.String("server", l.c.cfg.Server), zap.Bool("delta", l.delta))
	for _, url := range l.order {
		ts := l.types[url]
		ts.nonce = ""
		ts.nack.cancel()
		if ts.sub.empty() {
			continue
		}
		if l.delta {
			l.deltaRestore(ts)
		} else {
			l.sotwRequest(ts, nil)
		}
		for name, w := range ts.watches {
			if w.state == watchPending {
				l.startWatch(ts, name)
			}
		}
	}
}

// onResponse handles a response on the current stream.
func (l *loop) onResponse(resp any) {
	cur := l.cur
	if !cur.received {
		cur.received = true
		l.retries = 0
		if l.disconnected {
			l.disconnected = false
			l.log.Info("ADS stream re-established", zap.String("server", l.c.cfg.Server))
			l.emit(Event{Type: EventReconnected})
		}
		l.c.noteResponse()
	}
	switch r := resp.(type) {
	case *discoveryv3.DiscoveryResponse:
		l.sotwResponse(r)
	case *discoveryv3.DeltaDiscoveryResponse:
		l.deltaResponse(r)
	}
}

// streamEnded reports a failed or broken stream and schedules the next attempt with
// backoff and jitter. The last good state stays; timers pause; delayed NACKs are dropped
// (their nonces mean nothing on the next stream).
func (l *loop) streamEnded(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // closing: not a disconnection anyone needs to hear about
	}
	cur := l.cur
	cur.cancel()
	l.cur = nil
	l.pauseWatches()
	for _, ts := range l.types {
		ts.nack.cancel()
	}
	e := streamError(err, cur.open)
	delay := l.c.cfg.Backoff.Delay(l.retries)
	l.retries++
	l.log.Warn("ADS stream failed; retrying", zap.String("server", l.c.cfg.Server), zap.Error(e), logDuration(delay))
	l.disconnected = true
	l.emit(Event{Type: EventDisconnected, Err: e})
	l.c.noteFailure(e)
	gen, inbox := l.gen, l.c.inbox
	l.retryTimer = time.AfterFunc(delay, func() { inbox.push(msgRetry{gen: gen}) })
}

// streamError classifies why a stream ended: an *Error of KindConnection or KindAuth.
func streamError(err error, opened bool) error {
	if errors.Is(err, io.EOF) {
		return &Error{Kind: KindConnection, Msg: "the server ended the ADS stream"}
	}
	msg := "ADS stream broke"
	if !opened {
		msg = "opening the ADS stream"
	}
	e := WrapGRPC(err, msg)
	if KindOf(e) == KindCancelled {
		// Our own context is not done (streamEnded checked), so the server or a proxy
		// cancelled the stream: a connection problem to retry.
		return &Error{Kind: KindConnection, Msg: msg, Err: err}
	}
	return e
}

// sendSotw sends a state-of-the-world request on the current stream. The node goes in
// the first request of each stream only, as the protocol allows and Envoy does.
func (l *loop) sendSotw(req *discoveryv3.DiscoveryRequest) {
	cur := l.cur
	if cur == nil || cur.sotw == nil || cur.broken {
		return
	}
	if !cur.nodeSent {
		req.Node, cur.nodeSent = l.node, true
	}
	if len(req.GetResourceNames()) > 0 {
		cur.sotwNamed[TypeURL(req.GetTypeUrl())] = true
	}
	if err := cur.sotw.Send(req); err != nil {
		cur.broken = true
		l.log.Debug("sending on the ADS stream failed; waiting for the reason", zap.Error(err))
	}
}

// sendDelta sends a delta request on the current stream.
func (l *loop) sendDelta(req *discoveryv3.DeltaDiscoveryRequest) {
	cur := l.cur
	if cur == nil || cur.delta == nil || cur.broken {
		return
	}
	if !cur.nodeSent {
		req.Node, cur.nodeSent = l.node, true
	}
	if err := cur.delta.Send(req); err != nil {
		cur.broken = true
		l.log.Debug("sending on the ADS stream failed; waiting for the reason", zap.Error(err))
	}
}
