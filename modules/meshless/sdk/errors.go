package sdk

import (
	"context"
	"fmt"
	"strconv"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// DialError is every error DialContext returns. It names the service, so a log line says
// which call failed, and it wraps the cause: a *protocol.Error carrying the agent's reply
// code, a context error, or the error of connecting to the agent's socket.
type DialError struct {
	ServiceID string // as the caller gave it
	Err       error
}

// Error renders "meshless: dial <id>: <meaning> (code <n>)[: <cause>]" for a reply, and
// "meshless: dial <id>: <cause>" otherwise. It does not reuse protocol.Error's text, which
// starts with its own "meshless: ".
func (e *DialError) Error() string {
	id := printableID(e.ServiceID)
	if pe, ok := e.Err.(*protocol.Error); ok {
		if pe.Err != nil {
			return fmt.Sprintf("meshless: dial %s: %s (code %d): %v", id, pe.Code, byte(pe.Code), pe.Err)
		}
		return fmt.Sprintf("meshless: dial %s: %s (code %d)", id, pe.Code, byte(pe.Code))
	}
	return fmt.Sprintf("meshless: dial %s: %v", id, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// Timeout reports whether the dial failed for lack of time: a Timeout reply, the handshake
// timeout, or the context's deadline. It makes the error usable where a net.Error is expected.
func (e *DialError) Timeout() bool { return protocol.CodeOf(e.Err) == protocol.Timeout }

// Is makes errors.Is(err, ErrNotAllowed) and its siblings true exactly when CodeOf(err) is that
// code, and errors.Is(err, context.DeadlineExceeded) true for every timeout, so callers that
// only know the context package still recognize a handshake that ran out of time.
func (e *DialError) Is(target error) bool {
	switch t := target.(type) {
	case codeError:
		return protocol.CodeOf(e.Err) == protocol.Code(t)
	default:
		return target == context.DeadlineExceeded && e.Timeout()
	}
}

// CodeOf returns the reply code behind err: OK for nil, the agent's code for a refusal,
// Timeout for a timeout and GeneralFailure for any other failure (no socket, a broken
// connection, a cancelled context).
func CodeOf(err error) protocol.Code {
	if err == nil {
		return protocol.OK
	}
	return protocol.CodeOf(err)
}

// codeError is the type of the sentinels: a comparable value, so no caller can alter one.
type codeError protocol.Code

func (c codeError) Error() string {
	return fmt.Sprintf("meshless: %s (code %d)", protocol.Code(c), byte(c))
}

// The sentinels, one per non-OK code: errors.Is(err, ErrX) holds exactly when CodeOf(err) is
// that code. Failures on this side count too, as CodeOf says: a missing socket is
// ErrGeneralFailure and an expired handshake is ErrTimeout.
var (
	ErrGeneralFailure         error = codeError(protocol.GeneralFailure)
	ErrUnsupportedVersion     error = codeError(protocol.UnsupportedVersion)
	ErrMalformed              error = codeError(protocol.Malformed)
	ErrServiceNotFound        error = codeError(protocol.ServiceNotFound)
	ErrNotAllowed             error = codeError(protocol.NotAllowed)
	ErrNoEndpoint             error = codeError(protocol.NoEndpoint)
	ErrConnectionLimit        error = codeError(protocol.ConnectionLimit)
	ErrDestinationRefused     error = codeError(protocol.DestinationRefused)
	ErrDestinationUnreachable error = codeError(protocol.DestinationUnreachable)
	ErrTimeout                error = codeError(protocol.Timeout)
	ErrShuttingDown           error = codeError(protocol.ShuttingDown)
)

// printableID returns the ID bare when it is made of the characters a valid ID may hold, and
// quoted otherwise, so a malformed ID cannot garble a log line.
func printableID(s string) string {
	if s == "" {
		return `""`
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return strconv.Quote(s)
		}
	}
	return s
}
