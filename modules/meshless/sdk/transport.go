package sdk

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
)

// errHTTPS is what a https:// request gets: the mesh already encrypts every hop, and the
// server behind it speaks plain HTTP on its Unix socket.
var errHTTPS = errors.New("meshless: https is not used through the mesh, which encrypts already; use http://")

// Transport returns an http.Transport that reaches the service named by a request's host:
// http://echo.server.demo/path goes to the service ID echo.server.demo. A port in the URL is
// ignored, since a service ID names one socket. The host is lowercased, as DNS names are
// case-insensitive but service IDs are lowercase.
//
// The transport takes a copy of d, so later changes to d do not affect it. It ignores proxy
// environment variables (a proxy cannot reach the agent's socket) and refuses https://.
//
// Idle connections are kept briefly and few per service: each one holds a connection slot at
// the destination, which the mesh may limit (code ConnectionLimit).
func (d *Dialer) Transport() *http.Transport {
	dc := *d
	return &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr // no port
			}
			return dc.DialContext(ctx, strings.ToLower(host))
		},
		DialTLSContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, errHTTPS
		},
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// NewTransport returns the Transport of a Dialer made from opts.
func NewTransport(opts ...Option) *http.Transport { return newDialer(opts).Transport() }
