package xds

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"

	"google.golang.org/grpc/credentials"
)

// In TLS 1.3 the server checks the client certificate after the client has finished its
// side of the handshake. When it refuses the certificate it sends an alert ("bad
// certificate", "unknown certificate authority") and closes the connection, but by then
// gRPC is already writing its preface, and that write often fails first with "broken
// pipe". gRPC reports the first error it sees, so the same refusal shows up either as a
// TLS alert (KindAuth) or as a broken pipe (KindConnection), at random.
//
// alertCreds makes it the alert every time: when a write on an mTLS connection fails, the
// connection reads the alert the server sent, which is already in the socket's receive
// buffer, and reports it instead. A refused certificate is then reported as KindAuth
// deterministically, which is what tells an operator to look at the certificate rather
// than the network.

// alertCreds wraps TLS transport credentials so that client connections report the
// server's TLS alert in place of a write error.
type alertCreds struct {
	credentials.TransportCredentials
}

// ClientHandshake performs the TLS handshake and wraps the connection.
func (c alertCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		return nil, nil, err
	}
	return &alertConn{Conn: conn}, info, nil
}

// Clone keeps the wrapper on copies, which gRPC makes per connection.
func (c alertCreds) Clone() credentials.TransportCredentials {
	return alertCreds{c.TransportCredentials.Clone()}
}

// alertWait bounds the read for a pending alert after a write failed. The alert, when
// there is one, is already buffered; the bound only matters when there is none and the
// peer vanished without closing, and even then the connection is already lost.
const alertWait = time.Second

// alertConn is a client TLS connection whose write errors give way to the peer's alert.
type alertConn struct {
	net.Conn
}

// Write writes b. On failure it looks for a TLS alert from the peer: crypto/tls keeps a
// read error once seen, so reading now returns the alert even when gRPC's reader
// goroutine consumed it first. A connection whose write failed is unusable, so the read
// cannot steal data that anyone still needs.
func (c *alertConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err == nil {
		return n, nil
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(alertWait))
	var buf [1]byte
	if _, rerr := c.Conn.Read(buf[:]); isRemoteAlert(rerr) {
		return n, rerr
	}
	return n, err
}

// isRemoteAlert reports whether err is a TLS alert received from the peer. crypto/tls
// reports those as a *net.OpError with Op "remote error" around an unexported alert type
// (tls.AlertError is only used with QUIC).
func isRemoteAlert(err error) bool {
	var op *net.OpError
	var alert tls.AlertError
	return errors.As(err, &op) && op.Op == "remote error" || errors.As(err, &alert)
}
