package policy

import (
	"errors"
	"fmt"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// Error is a refused decision: the reply code the agent sends to the application, and the
// reason, which the agent logs. The code alone cannot tell an operator whether a call was
// refused because the Pod lacks its meshlet label or because the meshlet lacks a client
// entry, so every refusal carries both.
type Error struct {
	// Code is the reply code for the application: never protocol.OK.
	Code protocol.Code
	// Err says why, naming the objects involved.
	Err error
}

// Error returns the code's meaning followed by the reason, as the access log shows it.
func (e *Error) Error() string { return e.Code.String() + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the reply code for the result of a decision: protocol.OK for nil, the
// code of an [*Error] anywhere in err's chain, and protocol.GeneralFailure for any other
// error, so that a caller never has to invent a code.
func CodeOf(err error) protocol.Code {
	if err == nil {
		return protocol.OK
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return protocol.GeneralFailure
}

// Refuse builds a refusal; the agent uses it for its own decisions too (a full Pod, a socket
// that refuses), so that every refusal has one type. It is only called on the refusing path,
// so the hot path of an allowed connection does not pay for formatting.
func Refuse(code protocol.Code, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}
