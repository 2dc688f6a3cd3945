package xds

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// testServer is a real gRPC server on 127.0.0.1:0 that serves the health service and
// records what each call presented: the authorization header and the client certificate.
type testServer struct {
	addr string

	mu         sync.Mutex
	tokens     []string
	clientCert []*x509.Certificate
}

// startServer starts a server with creds (nil for plaintext). When wantToken is set, calls
// without "Bearer <wantToken>" fail with codes.Unauthenticated, as a control plane's auth
// interceptor would.
func startServer(t *testing.T, creds credentials.TransportCredentials, wantToken string) *testServer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: lis.Addr().String()}
	opts := []grpc.ServerOption{grpc.UnaryInterceptor(ts.intercept(wantToken))}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return ts
}

func (ts *testServer) intercept(wantToken string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		tok := ""
		if v := md.Get("authorization"); len(v) > 0 {
			tok = v[0]
		}
		ts.mu.Lock()
		ts.tokens = append(ts.tokens, tok)
		if p, ok := peer.FromContext(ctx); ok {
			if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.PeerCertificates) > 0 {
				ts.clientCert = append(ts.clientCert, info.State.PeerCertificates[0])
			}
		}
		ts.mu.Unlock()
		if wantToken != "" && tok != "Bearer "+wantToken {
			return nil, status.Error(codes.Unauthenticated, "invalid token")
		}
		return h(ctx, req)
	}
}

func (ts *testServer) lastToken() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.tokens) == 0 {
		return ""
	}
	return ts.tokens[len(ts.tokens)-1]
}

// check dials cfg's server with cfg's dial options and makes one call, returning its
// error. It is what the ADS client does, minus the stream.
func check(t *testing.T, cfg AdsConfig) error {
	t.Helper()
	opts, err := cfg.DialOptions()
	if err != nil {
		t.Fatalf("DialOptions: %v", err)
	}
	conn, err := grpc.NewClient(cfg.Server, opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

func serverTLS(t *testing.T, ca *testCA, clientCA *testCA) credentials.TransportCredentials {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{ca.issue(t, x509.ExtKeyUsageServerAuth).tlsCert(t)}}
	if clientCA != nil {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = clientCA.pool()
	}
	return credentials.NewTLS(cfg)
}

func TestDialPlaintext(t *testing.T) {
	ts := startServer(t, nil, "")
	if err := check(t, AdsConfig{Server: ts.addr, Node: NewNode("n", "")}); err != nil {
		t.Fatal(err)
	}
	if tok := ts.lastToken(); tok != "" {
		t.Errorf("a token was sent without bearer auth: %q", tok)
	}
}

func TestDialBearer(t *testing.T) {
	ts := startServer(t, nil, "s3cret")
	cfg := AdsConfig{Server: ts.addr, Node: NewNode("n", ""), Auth: Auth{Mode: AuthBearer, Token: "s3cret"}}
	if err := check(t, cfg); err != nil {
		t.Fatalf("bearer over plaintext loopback: %v", err)
	}
	if tok := ts.lastToken(); tok != "Bearer s3cret" {
		t.Errorf("server saw %q", tok)
	}

	cfg.Auth.Token = "wrong"
	err := check(t, cfg)
	if ClassifyGRPC(err) != KindAuth {
		t.Errorf("wrong token: %v classified %q, want auth", err, ClassifyGRPC(err))
	}

	// A token file is read for every stream, so a rotated token is used at once.
	dir := t.TempDir()
	cfg.Auth = Auth{Mode: AuthBearer, TokenFile: writeFile(t, dir, "token", "old\n")}
	if err := check(t, cfg); ClassifyGRPC(err) != KindAuth {
		t.Errorf("old token from file: %v", err)
	}
	writeFile(t, dir, "token", "s3cret\n")
	if err := check(t, cfg); err != nil {
		t.Errorf("rotated token from file: %v", err)
	}
	writeFile(t, dir, "token", "\n")
	if err := check(t, cfg); ClassifyGRPC(err) != KindAuth || ts.lastToken() != "Bearer s3cret" {
		t.Errorf("empty token file: %v (server last saw %q)", err, ts.lastToken())
	}
}

func TestDialBearerOverTLS(t *testing.T) {
	ca := newTestCA(t, "server-ca")
	ts := startServer(t, serverTLS(t, ca, nil), "s3cret")
	cfg := AdsConfig{Server: ts.addr, Node: NewNode("n", ""),
		Auth: Auth{Mode: AuthBearer, Token: "s3cret", CAPEM: ca.certPEM}}
	if err := check(t, cfg); err != nil {
		t.Fatal(err)
	}
	if tok := ts.lastToken(); tok != "Bearer s3cret" {
		t.Errorf("server saw %q", tok)
	}
}

func TestDialMTLS(t *testing.T) {
	serverCA := newTestCA(t, "server-ca")
	clientCA := newTestCA(t, "client-ca")
	otherCA := newTestCA(t, "other-ca")
	ts := startServer(t, serverTLS(t, serverCA, clientCA), "")
	client := clientCA.issue(t, x509.ExtKeyUsageClientAuth)
	good := Auth{Mode: AuthMTLS, CertPEM: client.certPEM, KeyPEM: client.keyPEM, CAPEM: serverCA.certPEM}

	if err := check(t, AdsConfig{Server: ts.addr, Node: NewNode("n", ""), Auth: good}); err != nil {
		t.Fatal(err)
	}
	ts.mu.Lock()
	if len(ts.clientCert) != 1 || ts.clientCert[0].Issuer.CommonName != "client-ca" {
		t.Errorf("server saw client certificates %v", ts.clientCert)
	}
	ts.mu.Unlock()

	untrusted := otherCA.issue(t, x509.ExtKeyUsageClientAuth)
	failures := []struct {
		name string
		auth Auth
	}{
		{"wrong CA for the server", Auth{Mode: AuthMTLS, CertPEM: client.certPEM, KeyPEM: client.keyPEM, CAPEM: otherCA.certPEM}},
		{"client certificate the server does not trust", Auth{Mode: AuthMTLS, CertPEM: untrusted.certPEM, KeyPEM: untrusted.keyPEM, CAPEM: serverCA.certPEM}},
		{"server name mismatch", func() Auth { a := good; a.ServerName = "istiod.example"; return a }()},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			err := check(t, AdsConfig{Server: ts.addr, Node: NewNode("n", ""), Auth: tt.auth})
			if err == nil || ClassifyGRPC(err) != KindAuth {
				t.Errorf("error %v classified %q, want auth", err, ClassifyGRPC(err))
			}
		})
	}
}

func TestDialServerDown(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	err = check(t, AdsConfig{Server: addr, Node: NewNode("n", "")})
	if err == nil || ClassifyGRPC(err) != KindConnection {
		t.Errorf("error %v classified %q, want connection", err, ClassifyGRPC(err))
	}
}
