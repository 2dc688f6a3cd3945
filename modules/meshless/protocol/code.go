// Package protocol is the Meshless client handshake: the few bytes an application sends on
// the node agent's Unix socket to name the service it wants, and the agent's one-byte
// answer. It is pure Go with no Caddy import, shared by the agent (modules/meshless) and the
// application SDK (modules/meshless/sdk). README.md is the specification.
package protocol

import "fmt"

// Version is the only protocol version: the first byte of every request and reply.
const Version byte = 1

// Code is the agent's answer to a request. The values are part of the wire protocol and are
// never renumbered; new codes may only be added after the last.
type Code byte

// The reply codes.
const (
	// OK: the path to the destination is established; the socket now carries the
	// application's bytes.
	OK Code = 0
	// GeneralFailure: anything not covered below.
	GeneralFailure Code = 1
	// UnsupportedVersion: the request's version byte is not Version.
	UnsupportedVersion Code = 2
	// Malformed: a length of zero, a length past the data, or a service ID that is not
	// <service>.<meshlet>.<namespace> of DNS-1123 labels.
	Malformed Code = 3
	// ServiceNotFound: no Meshlet declares the service.
	ServiceNotFound Code = 4
	// NotAllowed: the calling meshlet does not list the service in its client list.
	NotAllowed Code = 5
	// NoEndpoint: no ready Pod serves the service.
	NoEndpoint Code = 6
	// ConnectionLimit: every Pod serving the service is at its maxConn.
	ConnectionLimit Code = 7
	// DestinationRefused: the destination's socket refused the connection.
	DestinationRefused Code = 8
	// DestinationUnreachable: the destination (its node agent or its socket) cannot be
	// reached.
	DestinationUnreachable Code = 9
	// Timeout: the handshake or the path to the destination took too long.
	Timeout Code = 10
	// ShuttingDown: the agent is stopping and takes no new connections.
	ShuttingDown Code = 11
)

var codeNames = [...]string{
	OK:                     "ok",
	GeneralFailure:         "general failure",
	UnsupportedVersion:     "unsupported protocol version",
	Malformed:              "malformed request",
	ServiceNotFound:        "service not found",
	NotAllowed:             "not allowed",
	NoEndpoint:             "no available endpoint",
	ConnectionLimit:        "connection limit reached",
	DestinationRefused:     "destination refused",
	DestinationUnreachable: "destination unreachable",
	Timeout:                "timeout",
	ShuttingDown:           "shutting down",
}

// String returns the code's meaning, as in the README's table.
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("unknown code %d", byte(c))
}

// Known reports whether the code is one this version of the protocol defines.
func (c Code) Known() bool { return int(c) < len(codeNames) }
