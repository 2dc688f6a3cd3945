package xds

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// AdsClient is one Aggregated Discovery Service stream to a management server, kept open
// for as long as the client lives: it reconnects with backoff when the stream breaks,
// restores every subscription, validates each resource before accepting it, ACKs and
// NACKs, and keeps the last good state of every type. What happens is delivered, in
// order, as Events through Next; the state is also readable at any time through State.
//
// All methods are safe for concurrent use. The protocol runs on one goroutine of its own,
// and events queue without bound, so a slow consumer never holds the stream up.
type AdsClient struct {
	cfg  AdsConfig
	opts clientOptions
	log  *zap.Logger
	conn *grpc.ClientConn
	l    *loop

	// inbox feeds the loop: commands, stream messages and timer wake-ups.
	inbox *mailbox[any]
	// events feeds Next.
	events *mailbox[Event]

	cancel    context.CancelFunc
	closing   chan struct{} // closed by Close, before anything else
	loopDone  chan struct{} // closed when the loop has stopped
	closeOnce sync.Once

	// stateMu guards the loop's types map and each type's held map against State.
	stateMu sync.RWMutex

	// Connect's wait for the first response (WithWaitForInitialResponse).
	waitMu    sync.Mutex
	answered  chan struct{} // closed by the first response
	lastErr   error         // the last stream failure
	failed    chan struct{} // has a token after each failure
	answerOne sync.Once
}

// Connect validates cfg, dials the management server and starts the ADS stream in the
// background. It returns quickly: the stream opens, fails and reconnects on its own, and
// its failures arrive as EventDisconnected. ctx bounds only Connect itself (with
// WithWaitForInitialResponse, the wait); the client lives until Close.
//
// Errors are *Error: KindConnection for an invalid config (wrapping ErrInvalidConfig) or
// an unusable address, KindAuth for credentials that cannot be loaded, KindCancelled when
// ctx ends first, and KindInvalidResource for a bad WithSubscription.
func Connect(ctx context.Context, cfg AdsConfig, opts ...ClientOption) (*AdsClient, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Kind: KindCancelled, Msg: "connecting", Err: err}
	}
	o := clientOptions{logger: zap.NewNop()}
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, &Error{Kind: KindConnection, Msg: "connecting", Err: err}
	}
	dialOpts, err := cfg.DialOptions()
	if err != nil {
		return nil, &Error{Kind: KindAuth, Msg: "loading credentials", Err: err}
	}
	node, err := cfg.Node.Proto()
	if err != nil {
		return nil, &Error{Kind: KindConnection, Msg: "connecting", Err: err}
	}
	cfg = cfg.WithDefaults()
	var initial []subscribeCmd
	for _, s := range o.initial {
		cmd, err := parseSubscription(s.typeURL, s.names, true, cfg.UseDelta())
		if err != nil {
			return nil, err
		}
		initial = append(initial, cmd)
	}
	conn, err := grpc.NewClient(cfg.Server, dialOpts...)
	if err != nil {
		return nil, &Error{Kind: KindConnection, Msg: fmt.Sprintf("dialing %s", cfg.Server), Err: err}
	}

	c := &AdsClient{
		cfg:      cfg,
		opts:     o,
		log:      o.logger.Named("xds").With(zap.String("server", cfg.Server)),
		conn:     conn,
		inbox:    newMailbox[any](),
		events:   newMailbox[Event](),
		closing:  make(chan struct{}),
		loopDone: make(chan struct{}),
		answered: make(chan struct{}),
		failed:   make(chan struct{}, 1),
	}
	c.l = newLoop(c, node)
	for _, cmd := range initial {
		c.l.applyCommand(cmd) // no stream yet: this only records the subscription
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.l.run(loopCtx)

	if o.waitFirst && len(initial) > 0 {
		if err := c.waitFirstResponse(ctx); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

// waitFirstResponse waits for the first response, an auth failure, the
// InitialResponseTimeout or ctx, whichever comes first.
func (c *AdsClient) waitFirstResponse(ctx context.Context) error {
	timer := time.NewTimer(c.cfg.InitialResponseTimeout)
	defer timer.Stop()
	for {
		select {
		case <-c.answered:
			return nil
		case <-c.failed:
			if err := c.lastFailure(); KindOf(err) == KindAuth {
				return err
			}
		case <-timer.C:
			return &Error{Kind: KindConnection,
				Msg: fmt.Sprintf("no response from %s within %s", c.cfg.Server, c.cfg.InitialResponseTimeout),
				Err: c.lastFailure()}
		case <-ctx.Done():
			return &Error{Kind: KindCancelled, Msg: "waiting for the first response", Err: ctx.Err()}
		}
	}
}

// noteResponse is called by the loop on every stream's first response.
func (c *AdsClient) noteResponse() {
	c.answerOne.Do(func() { close(c.answered) })
}

// noteFailure is called by the loop when a stream fails.
func (c *AdsClient) noteFailure(err error) {
	c.waitMu.Lock()
	c.lastErr = err
	c.waitMu.Unlock()
	select {
	case c.failed <- struct{}{}:
	default:
	}
}

func (c *AdsClient) lastFailure() error {
	c.waitMu.Lock()
	defer c.waitMu.Unlock()
	return c.lastErr
}

// Next returns the next event, waiting for one if need be. Events are never dropped or
// merged: each response, disconnection and reconnection is delivered once, in order. It
// returns an *Error of KindClosed once the client is closed (events still queued are
// discarded), and of KindCancelled, wrapping ctx's error, when ctx ends first.
func (c *AdsClient) Next(ctx context.Context) (Event, error) {
	for {
		if c.isClosed() {
			return Event{}, &Error{Kind: KindClosed, Msg: "client is closed"}
		}
		if ev, ok := c.events.pop(); ok {
			return ev, nil
		}
		select {
		case <-c.events.ready:
		case <-c.closing:
		case <-ctx.Done():
			return Event{}, &Error{Kind: KindCancelled, Msg: "waiting for the next event", Err: ctx.Err()}
		}
	}
}

// State returns the last good resources of typeURL by canonical name: what was accepted
// and not since removed, whatever was rejected after it, and whether or not the stream is
// up. The map is the caller's; the resources are shared and must not be modified.
func (c *AdsClient) State(typeURL TypeURL) map[string]resource.Resource {
	c.stateMu.RLock()
	defer c.stateMu.RUnlock()
	ts := c.l.types[typeURL]
	if ts == nil {
		return map[string]resource.Resource{}
	}
	out := make(map[string]resource.Resource, len(ts.held))
	for name, h := range ts.held {
		out[name] = h.res
	}
	return out
}

// Close stops the stream, its timers and goroutines, and closes the connection; when it
// returns nothing of the client is left running. Next then returns KindClosed. Closing
// again returns an *Error of KindClosed.
func (c *AdsClient) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		close(c.closing)
		c.cancel()
		<-c.loopDone
		_ = c.conn.Close()
	})
	if !first {
		return &Error{Kind: KindClosed, Msg: "client is already closed"}
	}
	return nil
}

// isClosed reports whether Close has been called.
func (c *AdsClient) isClosed() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}
