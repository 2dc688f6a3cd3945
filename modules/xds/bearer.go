package xds

import (
	"context"
	"os"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// bearerToken is the per-RPC credential of AuthBearer: an "authorization: Bearer" header on
// every stream.
//
// grpc-go's oauth.TokenSource does the same but always demands transport security, which
// rules out the plaintext loopback connections that Auth allows on purpose; this type
// demands it exactly when the connection was set up with TLS, and then checks the
// connection's security level itself before handing out the token.
type bearerToken struct {
	token      string // the token, or "" when read from file
	file       string // read on every call, so rotated tokens are picked up
	requireTLS bool
}

// GetRequestMetadata returns the authorization header. Failures are reported as
// codes.Unauthenticated so that ClassifyGRPC files them under KindAuth: a missing token
// file is a credentials problem, not a network one.
func (b *bearerToken) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if b.requireTLS {
		ri, _ := credentials.RequestInfoFromContext(ctx)
		if err := credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity); err != nil {
			return nil, status.Errorf(codes.Unauthenticated, "refusing to send the bearer token over an insecure connection: %v", err)
		}
	}
	tok := b.token
	if b.file != "" {
		data, err := os.ReadFile(b.file)
		if err != nil {
			return nil, status.Errorf(codes.Unauthenticated, "reading bearer token file: %v", err)
		}
		tok = strings.TrimSpace(string(data))
		if err := checkToken(tok); err != nil {
			return nil, status.Errorf(codes.Unauthenticated, "bearer token file %s: %v", b.file, err)
		}
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

// RequireTransportSecurity makes gRPC itself refuse to send the token when TLS was meant to
// be used and is not.
func (b *bearerToken) RequireTransportSecurity() bool { return b.requireTLS }
