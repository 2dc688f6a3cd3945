package xds

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// AuthMode selects how the client proves who it is to the management server.
type AuthMode string

// The supported modes. The zero value "" means AuthNone.
const (
	// AuthNone sends no client credentials. With a CA configured the connection still uses
	// TLS to verify the server; without one it is plaintext.
	AuthNone AuthMode = "none"
	// AuthBearer sends a bearer token ("authorization: Bearer <token>") with every stream,
	// as istiod (a Kubernetes service account token) and hosted control planes expect.
	AuthBearer AuthMode = "bearer"
	// AuthMTLS presents a client certificate over TLS and verifies the server against a CA.
	AuthMTLS AuthMode = "mtls"
)

// Auth is the client's credentials and the trust it places in the server. Each secret
// comes either inline (checked by Validate) or from a file, read as late as rotation needs:
// the token file for every stream, the client certificate and key on every TLS handshake,
// the CA when the dial options are built.
//
// Which transport is used follows from the fields, so that a token is never sent in the
// clear over a network:
//
//   - AuthMTLS, or any mode with a CA set: TLS, trusting only that CA;
//   - AuthBearer without a CA: TLS trusting the system roots, except to a server on this
//     machine (a loopback IP, "localhost" or a Unix socket), which gets plaintext, because
//     tests and node-local agents (istio-agent) serve plaintext there and the token never
//     leaves the host;
//   - AuthNone without a CA: plaintext.
//
// gRPC itself refuses to send credentials marked as needing transport security over a
// plaintext connection; the bearer credentials here are marked that way whenever TLS is in
// use, so a later change that drops TLS fails loudly instead of leaking the token.
type Auth struct {
	// Mode is none (the default), bearer or mtls.
	Mode AuthMode

	// Token is the bearer token (AuthBearer). Exactly one of Token and TokenFile is set.
	Token string
	// TokenFile holds the bearer token, read again for every stream, so a projected
	// Kubernetes service account token that the kubelet rotates keeps working.
	TokenFile string

	// CAFile or CAPEM holds the PEM certificates that the server's certificate must chain
	// to. Required for AuthMTLS; optional otherwise, and setting it turns TLS on.
	CAFile string
	CAPEM  string

	// CertFile or CertPEM, and KeyFile or KeyPEM, hold the client certificate chain and
	// its private key (AuthMTLS only). Files are read again on every TLS handshake, so a
	// rotated workload certificate is used on the next reconnect.
	CertFile string
	CertPEM  string
	KeyFile  string
	KeyPEM   string

	// ServerName overrides the name the server's certificate is verified against, which is
	// otherwise the host of the server address. It is required for TLS over a Unix socket.
	ServerName string
}

// mode returns a's mode with the zero value spelled out.
func (a Auth) mode() AuthMode {
	if a.Mode == "" {
		return AuthNone
	}
	return a.Mode
}

// Validate checks that a's fields fit its mode and that inline PEM parses. It does no I/O:
// files are read by TLSConfig and DialOptions, when the connection is made.
func (a Auth) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	mode := a.mode()
	switch mode {
	case AuthNone, AuthBearer, AuthMTLS:
	default:
		add("unknown mode %q: want %q, %q or %q", a.Mode, AuthNone, AuthBearer, AuthMTLS)
	}
	hasToken := a.Token != "" || a.TokenFile != ""
	switch {
	case mode == AuthBearer && !hasToken:
		add("bearer auth needs a token or a token file")
	case mode == AuthBearer && a.Token != "" && a.TokenFile != "":
		add("set either a token or a token file, not both")
	case mode != AuthBearer && hasToken:
		add("a token is set but the mode is %q, not %q", mode, AuthBearer)
	}
	if a.Token != "" {
		if err := checkToken(a.Token); err != nil {
			add("token: %w", err)
		}
	}
	if a.CAFile != "" && a.CAPEM != "" {
		add("set either a CA file or CA PEM, not both")
	}
	if mode == AuthMTLS && a.CAFile == "" && a.CAPEM == "" {
		add("mtls auth needs a CA to verify the server")
	}
	if a.CAPEM != "" {
		if _, err := certPool([]byte(a.CAPEM)); err != nil {
			add("CA PEM: %w", err)
		}
	}
	errs = append(errs, a.validateClientCert(mode)...)
	return errors.Join(errs...)
}

// validateClientCert checks the certificate and key fields: both present, each from one
// source, only in mTLS mode, and a pair that matches when inline.
func (a Auth) validateClientCert(mode AuthMode) []error {
	var errs []error
	hasCert := a.CertFile != "" || a.CertPEM != ""
	hasKey := a.KeyFile != "" || a.KeyPEM != ""
	if mode != AuthMTLS {
		if hasCert || hasKey {
			errs = append(errs, fmt.Errorf("a client certificate or key is set but the mode is %q, not %q", mode, AuthMTLS))
		}
		return errs
	}
	if !hasCert || !hasKey {
		errs = append(errs, errors.New("mtls auth needs a client certificate and its key"))
	}
	if a.CertFile != "" && a.CertPEM != "" {
		errs = append(errs, errors.New("set either a certificate file or certificate PEM, not both"))
	}
	if a.KeyFile != "" && a.KeyPEM != "" {
		errs = append(errs, errors.New("set either a key file or key PEM, not both"))
	}
	if a.CertPEM != "" && a.KeyPEM != "" {
		if _, err := tls.X509KeyPair([]byte(a.CertPEM), []byte(a.KeyPEM)); err != nil {
			errs = append(errs, fmt.Errorf("client certificate and key: %w", err))
		}
	}
	return errs
}

// usesTLS applies the transport rule in Auth's documentation.
func (a Auth) usesTLS(addr serverAddress) bool {
	switch {
	case a.mode() == AuthMTLS, a.CAFile != "", a.CAPEM != "":
		return true
	case a.mode() == AuthBearer:
		return !addr.isLocal()
	default:
		return false
	}
}

// validateFor adds the checks that depend on the server address.
func (a Auth) validateFor(addr serverAddress) error {
	if a.usesTLS(addr) && addr.unix && a.ServerName == "" {
		return errors.New("TLS over a Unix socket needs a server name to verify the certificate against")
	}
	if !a.usesTLS(addr) && a.ServerName != "" {
		return errors.New("a server name is set but the connection is plaintext (set a CA to use TLS)")
	}
	return nil
}

// TLSConfig returns the TLS configuration for connecting to server (an AdsConfig.Server
// address), or nil when the connection is plaintext by the rule in Auth's documentation.
// It reads the CA and client certificate files now, so a missing or broken file is
// reported here rather than as a failed handshake later.
func (a Auth) TLSConfig(server string) (*tls.Config, error) {
	addr, err := parseServerAddress(server)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(a.Validate(), a.validateFor(addr)); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if !a.usesTLS(addr) {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: a.ServerName,
	}
	if cfg.ServerName == "" {
		cfg.ServerName = addr.host
	}
	if cfg.RootCAs, err = a.rootCAs(); err != nil {
		return nil, err
	}
	if a.mode() == AuthMTLS {
		if err := a.setClientCert(cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// rootCAs returns the configured CA pool, or nil (the system roots) when none is set.
func (a Auth) rootCAs() (*x509.CertPool, error) {
	pem := []byte(a.CAPEM)
	if a.CAFile != "" {
		var err error
		if pem, err = os.ReadFile(a.CAFile); err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
	}
	if len(pem) == 0 {
		return nil, nil
	}
	pool, err := certPool(pem)
	if err != nil {
		if a.CAFile != "" {
			return nil, fmt.Errorf("CA file %s: %w", a.CAFile, err)
		}
		return nil, fmt.Errorf("CA PEM: %w", err)
	}
	return pool, nil
}

// setClientCert installs the client certificate: inline PEM once, files through a
// reloader that reads them on every handshake.
func (a Auth) setClientCert(cfg *tls.Config) error {
	r := &certReloader{certFile: a.CertFile, keyFile: a.KeyFile, certPEM: a.CertPEM, keyPEM: a.KeyPEM}
	cert, err := r.load()
	if err != nil {
		return err
	}
	if a.CertFile == "" && a.KeyFile == "" {
		cfg.Certificates = []tls.Certificate{*cert}
		return nil
	}
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return r.load()
	}
	return nil
}

// DialOptions returns the gRPC transport and per-RPC credentials that implement a for a
// connection to server (an AdsConfig.Server address).
func (a Auth) DialOptions(server string) ([]grpc.DialOption, error) {
	cfg, err := a.TLSConfig(server)
	if err != nil {
		return nil, err
	}
	var creds credentials.TransportCredentials
	switch {
	case cfg == nil:
		creds = insecure.NewCredentials()
	case a.mode() == AuthMTLS:
		creds = alertCreds{credentials.NewTLS(cfg)} // see tlsalert.go
	default:
		creds = credentials.NewTLS(cfg)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if a.mode() == AuthBearer {
		opts = append(opts, grpc.WithPerRPCCredentials(&bearerToken{
			token:      a.Token,
			file:       a.TokenFile,
			requireTLS: cfg != nil,
		}))
	}
	return opts, nil
}

// certPool parses PEM certificates into a pool, failing when there are none: an empty pool
// would reject every server with an error that does not point at the CA.
func certPool(pem []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificates found")
	}
	return pool, nil
}

// checkToken refuses tokens that cannot be sent in an HTTP/2 header.
func checkToken(tok string) error {
	if strings.TrimSpace(tok) == "" {
		return errors.New("empty")
	}
	if strings.ContainsAny(tok, "\r\n\x00") {
		return errors.New("contains a line break or NUL")
	}
	return nil
}

// certReloader loads a client certificate from files or PEM, keeping the last good pair so
// that a rotation caught half-written (new certificate, old key) does not break a
// reconnect when the previous pair is still valid.
type certReloader struct {
	certFile, keyFile string
	certPEM, keyPEM   string

	mu   sync.Mutex
	last *tls.Certificate
}

func (r *certReloader) load() (*tls.Certificate, error) {
	certPEM, keyPEM := []byte(r.certPEM), []byte(r.keyPEM)
	var err error
	if r.certFile != "" {
		if certPEM, err = os.ReadFile(r.certFile); err != nil {
			return r.fallback(fmt.Errorf("reading client certificate: %w", err))
		}
	}
	if r.keyFile != "" {
		if keyPEM, err = os.ReadFile(r.keyFile); err != nil {
			return r.fallback(fmt.Errorf("reading client key: %w", err))
		}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return r.fallback(fmt.Errorf("client certificate and key: %w", err))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = &cert
	return &cert, nil
}

// fallback returns the last good certificate, or err when there has never been one.
func (r *certReloader) fallback(err error) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return nil, err
	}
	return r.last, nil
}
