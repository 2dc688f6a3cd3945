package sdk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// DefaultClientSocket is where the node agent listens for applications inside a Pod.
const DefaultClientSocket = "/meshlet/client/meshless"

// Defaults for a Dialer's zero fields.
const (
	DefaultConnectTimeout   = 5 * time.Second
	DefaultHandshakeTimeout = 5 * time.Second
)

// A Dialer opens connections to services of the mesh through the node agent. Its zero value
// uses the defaults; it is safe for concurrent use once set up.
type Dialer struct {
	// Socket is the agent's Unix socket. Empty means DefaultClientSocket.
	Socket string
	// ConnectTimeout bounds connecting to the agent's socket. Zero or less means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// HandshakeTimeout bounds writing the request and reading the reply. The agent replies
	// only once the path to the destination is up, so this covers that too. Zero or less
	// means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
}

// An Option sets a field of the Dialer that Dial and NewTransport use.
type Option func(*Dialer)

// WithSocket sets Dialer.Socket.
func WithSocket(path string) Option { return func(d *Dialer) { d.Socket = path } }

// WithConnectTimeout sets Dialer.ConnectTimeout.
func WithConnectTimeout(t time.Duration) Option { return func(d *Dialer) { d.ConnectTimeout = t } }

// WithHandshakeTimeout sets Dialer.HandshakeTimeout.
func WithHandshakeTimeout(t time.Duration) Option {
	return func(d *Dialer) { d.HandshakeTimeout = t }
}

func newDialer(opts []Option) *Dialer {
	d := new(Dialer)
	for _, o := range opts {
		o(d)
	}
	return d
}

// Dial connects to serviceID ("<service>.<meshlet>.<namespace>") with a Dialer made from opts.
// See Dialer.DialContext.
func Dial(ctx context.Context, serviceID string, opts ...Option) (net.Conn, error) {
	return newDialer(opts).DialContext(ctx, serviceID)
}

// DialContext connects to serviceID ("<service>.<meshlet>.<namespace>") through the agent and
// returns the connection once the agent has answered OK; from then on it carries the
// application's bytes, and the mesh encrypts them.
//
// The connection is a *net.UnixConn with no deadline set: assert to it for CloseWrite, which
// half-closes the stream to the service while still reading its answer.
//
// Every error is a *DialError. A refusal wraps a *protocol.Error with the agent's code; use
// CodeOf, errors.Is with the ErrX sentinels, or errors.As. An invalid ID fails with Malformed
// before the socket is touched. Cancelling ctx aborts the handshake, and the error then wraps
// ctx.Err(). The socket is closed on every failure.
func (d *Dialer) DialContext(ctx context.Context, serviceID string) (net.Conn, error) {
	id, err := protocol.ParseServiceID(serviceID)
	if err != nil {
		return nil, &DialError{ServiceID: serviceID, Err: &protocol.Error{Code: protocol.Malformed, Err: err}}
	}
	nd := net.Dialer{Timeout: orDefault(d.ConnectTimeout, DefaultConnectTimeout)}
	c, err := nd.DialContext(ctx, "unix", d.socket())
	if err != nil {
		return nil, &DialError{ServiceID: serviceID, Err: fmt.Errorf("connecting to the agent: %w", err)}
	}
	uc := c.(*net.UnixConn) // what the "unix" network always returns
	if err := handshake(ctx, uc, id, orDefault(d.HandshakeTimeout, DefaultHandshakeTimeout)); err != nil {
		uc.Close()
		return nil, &DialError{ServiceID: serviceID, Err: err}
	}
	return uc, nil
}

// handshake sends the request and reads the reply within timeout, aborting when ctx ends. On
// success the connection is left with no deadline, for the application to set its own.
func handshake(ctx context.Context, c *net.UnixConn, id protocol.ServiceID, timeout time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("setting the handshake deadline: %w", err)
	}
	// A deadline in the past wakes a blocked Write or Read at once; the connection is not
	// closed here, so only DialContext closes it, once.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	err := protocol.WriteRequest(c, id)
	if err != nil {
		err = fmt.Errorf("sending the request: %w", err)
	} else {
		err = protocol.ReadReply(c)
	}
	// If the AfterFunc has started, it may set its deadline at any moment; the connection is
	// no longer usable, whatever the agent answered.
	if !stop() {
		return ctxError(ctx)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Our own deadline, not the agent's Timeout reply: say which limit was hit.
		var pe *protocol.Error
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &protocol.Error{Code: protocol.Timeout, Err: fmt.Errorf("no answer within the handshake timeout of %v: %w", timeout, err)}
	}
	if err != nil {
		return err
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("clearing the handshake deadline: %w", err)
	}
	return nil
}

// ctxError wraps ctx.Err() for errors.Is, and the cancellation cause when there is a distinct one.
func ctxError(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause != nil && cause != err {
		return fmt.Errorf("handshake aborted: %w: %w", err, cause)
	}
	return fmt.Errorf("handshake aborted: %w", err)
}

func (d *Dialer) socket() string {
	if d.Socket == "" {
		return DefaultClientSocket
	}
	return d.Socket
}

func orDefault(t, def time.Duration) time.Duration {
	if t <= 0 {
		return def
	}
	return t
}
