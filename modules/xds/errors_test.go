package xds

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{ErrClosed, "xds closed"},
		{&Error{}, "xds error"},
		{&Error{Kind: KindConnection, Msg: "opening stream", Err: io.EOF},
			"xds connection: opening stream: EOF"},
		{&Error{Kind: KindNack, TypeURL: ClusterType, Name: "web", Msg: "weights sum to 0"},
			`xds nack: type.googleapis.com/envoy.config.cluster.v3.Cluster "web": weights sum to 0`},
		{&Error{Kind: KindInvalidResource, Name: "a\nb"}, `xds invalid-resource: "a\nb"`},
		{&Error{Kind: KindOverLimit, TypeURL: EndpointType, Msg: "10001 resources, limit 10000"},
			"xds over-limit: type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment: 10001 resources, limit 10000"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorIsAs(t *testing.T) {
	nack := &Error{Kind: KindNack, TypeURL: ClusterType, Name: "web", Msg: "bad"}
	wrapped := fmt.Errorf("applying response: %w", nack)
	cancelled := &Error{Kind: KindCancelled, Msg: "receiving", Err: context.Canceled}

	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"sentinel of same kind", nack, ErrNack, true},
		{"sentinel through fmt wrapping", wrapped, ErrNack, true},
		{"sentinel of another kind", wrapped, ErrAuth, false},
		{"narrowed by type URL", wrapped, &Error{Kind: KindNack, TypeURL: ClusterType}, true},
		{"narrowed by other type URL", wrapped, &Error{Kind: KindNack, TypeURL: ListenerType}, false},
		{"narrowed by name", wrapped, &Error{Name: "web"}, true},
		{"narrowed by other name", wrapped, &Error{Name: "api"}, false},
		{"empty pattern matches any xds error", wrapped, &Error{}, true},
		{"cause is reachable", cancelled, context.Canceled, true},
		{"cause and kind", cancelled, ErrCancelled, true},
		{"plain error is not an xds error", io.EOF, ErrConnection, false},
		{"non-Error target", nack, io.EOF, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}

	var e *Error
	if !errors.As(wrapped, &e) || e != nack {
		t.Fatalf("errors.As did not find the *Error: %v", e)
	}
	if e.TypeURL != ClusterType || e.Name != "web" {
		t.Errorf("errors.As lost fields: %+v", e)
	}
	if KindOf(wrapped) != KindNack || KindOf(io.EOF) != "" || KindOf(nil) != "" {
		t.Errorf("KindOf: %q %q %q", KindOf(wrapped), KindOf(io.EOF), KindOf(nil))
	}
}

func TestClassifyGRPC(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"nil", nil, ""},
		{"xds error keeps its kind", fmt.Errorf("x: %w", ErrOverLimit), KindOverLimit},
		{"context canceled", fmt.Errorf("recv: %w", context.Canceled), KindCancelled},
		{"context deadline", context.DeadlineExceeded, KindCancelled},
		{"status canceled", status.Error(codes.Canceled, "context canceled"), KindCancelled},
		{"unauthenticated", status.Error(codes.Unauthenticated, "bad token"), KindAuth},
		{"permission denied", status.Error(codes.PermissionDenied, "not allowed"), KindAuth},
		{"wrapped unauthenticated", fmt.Errorf("stream: %w", status.Error(codes.Unauthenticated, "x")), KindAuth},
		{"unavailable", status.Error(codes.Unavailable, "connection refused"), KindConnection},
		{"untrusted server certificate",
			status.Error(codes.Unavailable, `connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"`),
			KindAuth},
		{"server refused our certificate",
			status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: remote error: tls: unknown certificate authority"`),
			KindAuth},
		{"deadline status", status.Error(codes.DeadlineExceeded, "deadline"), KindConnection},
		{"internal", status.Error(codes.Internal, "stream terminated by RST_STREAM"), KindConnection},
		{"invalid argument from server", status.Error(codes.InvalidArgument, "unknown type"), KindConnection},
		{"EOF", io.EOF, KindConnection},
		{"typed x509 error", fmt.Errorf("handshake: %w", x509.UnknownAuthorityError{}), KindAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassifyGRPC(tt.err); got != tt.want {
				t.Errorf("ClassifyGRPC(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestWrapGRPC(t *testing.T) {
	if WrapGRPC(nil, "x") != nil {
		t.Fatal("WrapGRPC(nil) is not nil")
	}
	st := status.Error(codes.Unauthenticated, "bad token")
	err := WrapGRPC(st, "opening the ADS stream")
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindAuth || e.Msg != "opening the ADS stream" {
		t.Fatalf("WrapGRPC = %#v", err)
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("the gRPC status is lost: %v", status.Code(err))
	}
	again := WrapGRPC(err, "reconnecting")
	if KindOf(again) != KindAuth || again.Error() != "reconnecting: xds auth: opening the ADS stream: rpc error: code = Unauthenticated desc = bad token" {
		t.Errorf("rewrapping = %q", again)
	}
}

func TestErrorIsNilTarget(t *testing.T) {
	if errors.Is(ErrAuth, (*Error)(nil)) {
		t.Error("an error matches a nil *Error")
	}
}
