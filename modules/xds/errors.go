package xds

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Kind says what went wrong in terms a caller can act on: reconnect, fix credentials, fix
// the management server's data, raise a limit, or stop. It is a string so that it can be
// logged, used as a metric label and shown in /mesh/collections as it is.
type Kind string

// The kinds of error the xDS client reports.
const (
	// KindConnection: the stream to the management server could not be opened or broke.
	// The client retries with backoff; the last good state keeps serving meanwhile.
	KindConnection Kind = "connection"
	// KindAuth: the server refused our credentials (a wrong or expired token, a client
	// certificate it does not trust), or we refused its certificate. Retrying with the same
	// credentials will not help, so this is reported apart from KindConnection.
	KindAuth Kind = "auth"
	// KindInvalidResource: a resource or resource name from the server failed validation.
	// It is rejected and its last good value is kept.
	KindInvalidResource Kind = "invalid-resource"
	// KindNack: the client rejected a response and told the server so with a NACK.
	KindNack Kind = "nack"
	// KindOverLimit: the server sent more resources than AdsConfig.ResourceLimit allows.
	KindOverLimit Kind = "over-limit"
	// KindCancelled: the caller's context ended the operation.
	KindCancelled Kind = "cancelled"
	// KindClosed: the client was closed; nothing more will be received.
	KindClosed Kind = "closed"
)

// Sentinels, one per kind, so that callers can write errors.Is(err, xds.ErrAuth) without
// naming the Error type. They are matched by kind alone (see Error.Is); never return them
// directly, return an *Error that says what happened.
var (
	ErrConnection      = &Error{Kind: KindConnection}      // matches every KindConnection error
	ErrAuth            = &Error{Kind: KindAuth}            // matches every KindAuth error
	ErrInvalidResource = &Error{Kind: KindInvalidResource} // matches every KindInvalidResource error
	ErrNack            = &Error{Kind: KindNack}            // matches every KindNack error
	ErrOverLimit       = &Error{Kind: KindOverLimit}       // matches every KindOverLimit error
	ErrCancelled       = &Error{Kind: KindCancelled}       // matches every KindCancelled error
	ErrClosed          = &Error{Kind: KindClosed}          // matches every KindClosed error
)

// Error is every error the xDS client reports about its stream and the resources on it.
// It carries the kind for decisions, the type URL and resource name for reporting on the
// right collection and item, and the cause for errors.Is and errors.As.
type Error struct {
	// Kind classifies the error.
	Kind Kind
	// TypeURL is the resource type concerned, or "" when the error is about the stream.
	TypeURL TypeURL
	// Name is the resource concerned, as the server or the caller spelled it (it may not
	// parse as a ResourceName when that is the problem), or "" when no single resource is.
	Name string
	// Msg says what happened, in words a person can act on.
	Msg string
	// Err is the underlying error, if any.
	Err error
}

// Error formats the error as "xds <kind>: <type URL> <name>: <msg>: <cause>", leaving out
// the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("xds ")
	if e.Kind == "" {
		b.WriteString("error")
	} else {
		b.WriteString(string(e.Kind))
	}
	sep := ": "
	if e.TypeURL != "" {
		b.WriteString(sep)
		b.WriteString(string(e.TypeURL))
		sep = " "
	}
	if e.Name != "" {
		b.WriteString(sep)
		fmt.Fprintf(&b, "%q", e.Name)
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, so that errors.Is(err, context.Canceled) and errors.As into a
// gRPC status or an x509 error keep working through an *Error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error that e matches. Only target's non-empty Kind,
// TypeURL and Name are compared, which makes the sentinels match every error of their kind
// and lets a caller ask narrower questions, such as
// errors.Is(err, &xds.Error{Kind: xds.KindNack, TypeURL: xds.ClusterType}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t == nil {
		return false
	}
	return (t.Kind == "" || t.Kind == e.Kind) &&
		(t.TypeURL == "" || t.TypeURL == e.TypeURL) &&
		(t.Name == "" || t.Name == e.Name)
}

// KindOf returns the kind of the first *Error in err's chain, or "" when there is none.
// It is meant for metric labels and status pages, which want the kind without a type switch.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// ClassifyGRPC returns the kind of an error from a gRPC call or stream:
//
//   - an *Error keeps its kind;
//   - context.Canceled and context.DeadlineExceeded (the caller's context) and
//     codes.Canceled are KindCancelled;
//   - codes.Unauthenticated and codes.PermissionDenied are KindAuth, and so is a failed TLS
//     handshake (an untrusted server certificate, or the server refusing ours);
//   - everything else, codes.Unavailable first among them, is KindConnection: the stream
//     is gone and reconnecting may help.
//
// It returns "" for a nil error.
func ClassifyGRPC(err error) Kind {
	if err == nil {
		return ""
	}
	if k := KindOf(err); k != "" {
		return k
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return KindCancelled
	}
	if isTLSFailure(err) {
		return KindAuth
	}
	st, ok := status.FromError(err)
	if !ok {
		return KindConnection
	}
	switch st.Code() {
	case codes.Unauthenticated, codes.PermissionDenied:
		return KindAuth
	case codes.Canceled:
		return KindCancelled
	case codes.Unavailable:
		if isTLSFailureText(st.Message()) {
			return KindAuth
		}
	}
	return KindConnection
}

// WrapGRPC turns an error from a gRPC call into an *Error of the kind ClassifyGRPC gives,
// with msg saying what the client was doing ("opening the ADS stream"). An error that
// already is an xDS error keeps its kind and only gains msg as context. A nil error stays
// nil.
func WrapGRPC(err error, msg string) error {
	if err == nil {
		return nil
	}
	if KindOf(err) != "" {
		return fmt.Errorf("%s: %w", msg, err)
	}
	return &Error{Kind: ClassifyGRPC(err), Msg: msg, Err: err}
}

// isTLSFailure finds the typed errors crypto/tls and crypto/x509 return for a refused
// certificate, for callers that hand us a handshake error before gRPC flattens it.
func isTLSFailure(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		invalid          x509.CertificateInvalidError
		hostname         x509.HostnameError
		verification     *tls.CertificateVerificationError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &invalid) ||
		errors.As(err, &hostname) || errors.As(err, &verification) || isRemoteAlert(err)
}

// tlsFailureMarkers are the texts grpc-go puts in a codes.Unavailable status when the TLS
// handshake fails. A status carries only a message, not the original error, so the text is
// all there is to tell "wrong CA" from "server down":
//   - the client refused the server ("transport: authentication handshake failed: x509: ...");
//   - the server refused the client and said so with an alert, which arrives as
//     "remote error: tls: bad certificate" or "... unknown certificate authority" on the
//     first read after the handshake (TLS 1.3 verifies the client certificate late).
var tlsFailureMarkers = []string{
	"authentication handshake failed",
	"remote error: tls:",
	"x509: ",
}

func isTLSFailureText(msg string) bool {
	for _, m := range tlsFailureMarkers {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}
