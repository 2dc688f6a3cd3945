package xds

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// serverAddress is AdsConfig.Server taken apart: what TLS needs (the host to verify) and
// what the bearer-token rule needs (whether the server is on this machine).
type serverAddress struct {
	host string // "" for Unix sockets
	unix bool   // a "unix:" target, such as an istio-agent's local xDS socket
}

// parseServerAddress accepts "host:port" (a DNS name or IP, IPv6 in brackets) and gRPC's
// "unix:path" and "unix:///absolute/path" targets. Other gRPC target schemes
// ("dns:///...", "xds:///...") are refused: they would bypass the checks made here on the
// host, and "host:port" already resolves through DNS.
func parseServerAddress(s string) (serverAddress, error) {
	if s == "" {
		return serverAddress{}, errors.New("server address is required")
	}
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if strings.TrimPrefix(path, "//") == "" {
			return serverAddress{}, fmt.Errorf("server address %q: missing socket path", s)
		}
		return serverAddress{unix: true}, nil
	}
	if strings.Contains(s, "://") {
		return serverAddress{}, fmt.Errorf("server address %q: want host:port or unix:path, without a scheme", s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return serverAddress{}, fmt.Errorf("server address %q: want host:port or unix:path: %w", s, err)
	}
	if host == "" {
		return serverAddress{}, fmt.Errorf("server address %q: missing host", s)
	}
	if strings.ContainsAny(host, "/ \t") {
		return serverAddress{}, fmt.Errorf("server address %q: want host:port or unix:path, without a scheme", s)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return serverAddress{}, fmt.Errorf("server address %q: port %q is not a number from 1 to 65535", s, port)
	}
	return serverAddress{host: host}, nil
}

// isLocal reports whether traffic to the server stays on this machine: a Unix socket, a
// loopback IP, or "localhost". Only then is a bearer token sent without TLS.
func (a serverAddress) isLocal() bool {
	if a.unix {
		return true
	}
	if strings.EqualFold(a.host, "localhost") {
		return true
	}
	ip := net.ParseIP(a.host)
	return ip != nil && ip.IsLoopback()
}
