package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// dialFunc opens a connection that carries the application's bytes to the server: for
// meshless, the handshake is done (or, pipelined, sent).
type dialFunc func(ctx context.Context) (net.Conn, error)

// path is one way from the client to the server.
type path struct {
	name string
	dial dialFunc
}

const dialTimeout = 10 * time.Second

func dialUnix(socket string) dialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		d := net.Dialer{Timeout: dialTimeout}
		return d.DialContext(ctx, "unix", socket)
	}
}

// dialTLS dials the server's TLS port and completes the handshake.
func dialTLS(addr string, cfg *tls.Config) dialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: dialTimeout}, Config: cfg}
		return d.DialContext(ctx, "tcp", addr)
	}
}

// dialMeshless dials agent A's client socket and sends the request for id. Unless
// pipelined, it waits for the reply, so that the connection it returns is the raw byte
// stream; pipelined, the reply is read before the first Read, and the client's first bytes
// follow the request without waiting, as the protocol allows.
func dialMeshless(socket string, id protocol.ServiceID, pipeline bool) dialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		d := net.Dialer{Timeout: dialTimeout}
		c, err := d.DialContext(ctx, "unix", socket)
		if err != nil {
			return nil, err
		}
		uc := c.(*net.UnixConn)
		if pipeline {
			if err := protocol.WriteRequest(uc, id); err != nil {
				_ = uc.Close()
				return nil, fmt.Errorf("meshless request: %w", err)
			}
			return &pendingReplyConn{UnixConn: uc}, nil
		}
		_ = uc.SetDeadline(time.Now().Add(dialTimeout))
		if err := protocol.WriteRequest(uc, id); err != nil {
			_ = uc.Close()
			return nil, fmt.Errorf("meshless request: %w", err)
		}
		if err := protocol.ReadReply(uc); err != nil {
			_ = uc.Close()
			return nil, fmt.Errorf("meshless handshake for %s: %w", id, err)
		}
		_ = uc.SetDeadline(time.Time{})
		return uc, nil
	}
}

// pendingReplyConn is a pipelined meshless connection: its first Read reads the agent's
// reply first. Reads come from one goroutine, so replied needs no lock.
type pendingReplyConn struct {
	*net.UnixConn // CloseWrite comes from here
	replied       bool
}

func (c *pendingReplyConn) Read(p []byte) (int, error) {
	if !c.replied {
		c.replied = true
		if err := protocol.ReadReply(c.UnixConn); err != nil {
			return 0, fmt.Errorf("meshless handshake: %w", err)
		}
	}
	return c.UnixConn.Read(p)
}

// closeWriter is a connection that can half-close: *net.UnixConn, *tls.Conn.
type closeWriter interface {
	CloseWrite() error
}
