package xds

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuthValidate(t *testing.T) {
	ca := newTestCA(t, "ca")
	client := ca.issue(t, x509.ExtKeyUsageClientAuth)
	other := ca.issue(t, x509.ExtKeyUsageClientAuth)

	tests := []struct {
		name    string
		auth    Auth
		wantErr []string // nil when valid
	}{
		{"zero is none", Auth{}, nil},
		{"none with a CA (TLS, no client credentials)", Auth{CAPEM: ca.certPEM}, nil},
		{"bearer token", Auth{Mode: AuthBearer, Token: "t0k"}, nil},
		{"bearer token file", Auth{Mode: AuthBearer, TokenFile: "/var/run/secrets/tokens/istio-token"}, nil},
		{"bearer with CA", Auth{Mode: AuthBearer, Token: "t", CAFile: "/etc/ca.pem", ServerName: "istiod"}, nil},
		{"mtls from files", Auth{Mode: AuthMTLS, CertFile: "c", KeyFile: "k", CAFile: "ca"}, nil},
		{"mtls inline", Auth{Mode: AuthMTLS, CertPEM: client.certPEM, KeyPEM: client.keyPEM, CAPEM: ca.certPEM}, nil},
		{"mtls mixed sources", Auth{Mode: AuthMTLS, CertPEM: client.certPEM, KeyFile: "k", CAFile: "ca"}, nil},

		{"unknown mode", Auth{Mode: "jwt"}, []string{`unknown mode "jwt"`}},
		{"bearer without token", Auth{Mode: AuthBearer}, []string{"needs a token"}},
		{"bearer with both", Auth{Mode: AuthBearer, Token: "t", TokenFile: "f"}, []string{"either a token or a token file"}},
		{"blank token", Auth{Mode: AuthBearer, Token: "  "}, []string{"token: empty"}},
		{"token with newline", Auth{Mode: AuthBearer, Token: "a\r\nx-evil: 1"}, []string{"line break"}},
		{"token without bearer", Auth{Token: "t"}, []string{`the mode is "none"`}},
		{"token file with mtls", Auth{Mode: AuthMTLS, TokenFile: "f", CertFile: "c", KeyFile: "k", CAFile: "ca"},
			[]string{`a token is set but the mode is "mtls"`}},
		{"mtls without CA", Auth{Mode: AuthMTLS, CertFile: "c", KeyFile: "k"}, []string{"needs a CA"}},
		{"mtls without key", Auth{Mode: AuthMTLS, CertFile: "c", CAFile: "ca"}, []string{"client certificate and its key"}},
		{"two CAs", Auth{CAFile: "a", CAPEM: ca.certPEM}, []string{"either a CA file or CA PEM"}},
		{"two certs", Auth{Mode: AuthMTLS, CertFile: "c", CertPEM: client.certPEM, KeyFile: "k", CAFile: "ca"},
			[]string{"either a certificate file or certificate PEM"}},
		{"two keys", Auth{Mode: AuthMTLS, CertFile: "c", KeyFile: "k", KeyPEM: "x", CAFile: "ca"},
			[]string{"either a key file or key PEM"}},
		{"CA PEM without certificates", Auth{CAPEM: "not pem"}, []string{"CA PEM: no PEM certificates found"}},
		{"mismatched inline pair", Auth{Mode: AuthMTLS, CertPEM: client.certPEM, KeyPEM: other.keyPEM, CAPEM: ca.certPEM},
			[]string{"client certificate and key:", "does not match"}},
		{"client cert without mtls", Auth{Mode: AuthBearer, Token: "t", CertFile: "c"},
			[]string{`a client certificate or key is set but the mode is "bearer"`}},
		{"several problems at once", Auth{Mode: AuthMTLS, Token: "t"},
			[]string{"a token is set", "needs a CA", "client certificate and its key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.auth.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestAuthTransport(t *testing.T) {
	ca := newTestCA(t, "ca")
	client := ca.issue(t, x509.ExtKeyUsageClientAuth)

	tests := []struct {
		name       string
		auth       Auth
		server     string
		wantTLS    bool
		serverName string
		wantErr    string
	}{
		{name: "none is plaintext", server: "cp.example.com:15010"},
		{name: "bearer to loopback is plaintext", auth: Auth{Mode: AuthBearer, Token: "t"}, server: "127.0.0.1:15010"},
		{name: "bearer to localhost is plaintext", auth: Auth{Mode: AuthBearer, Token: "t"}, server: "localhost:15010"},
		{name: "bearer to a unix socket is plaintext", auth: Auth{Mode: AuthBearer, Token: "t"}, server: "unix:/run/xds.sock"},
		{name: "bearer to the network is TLS with system roots", auth: Auth{Mode: AuthBearer, Token: "t"},
			server: "trafficdirector.googleapis.com:443", wantTLS: true, serverName: "trafficdirector.googleapis.com"},
		{name: "bearer with a CA is TLS even on loopback", auth: Auth{Mode: AuthBearer, Token: "t", CAPEM: ca.certPEM},
			server: "127.0.0.1:15012", wantTLS: true, serverName: "127.0.0.1"},
		{name: "none with a CA is TLS", auth: Auth{CAPEM: ca.certPEM}, server: "[::1]:15012", wantTLS: true, serverName: "::1"},
		{name: "mtls with server name override", auth: Auth{Mode: AuthMTLS, CertPEM: client.certPEM, KeyPEM: client.keyPEM,
			CAPEM: ca.certPEM, ServerName: "istiod.istio-system.svc"},
			server: "10.0.0.5:15012", wantTLS: true, serverName: "istiod.istio-system.svc"},
		{name: "mtls over a unix socket with a server name", auth: Auth{Mode: AuthMTLS, CertPEM: client.certPEM,
			KeyPEM: client.keyPEM, CAPEM: ca.certPEM, ServerName: "agent"},
			server: "unix:/run/xds.sock", wantTLS: true, serverName: "agent"},

		{name: "TLS over a unix socket needs a server name", auth: Auth{CAPEM: ca.certPEM}, server: "unix:/run/xds.sock",
			wantErr: "needs a server name"},
		{name: "server name on plaintext", auth: Auth{ServerName: "x"}, server: "127.0.0.1:1",
			wantErr: "the connection is plaintext"},
		{name: "bad address", server: "nope", wantErr: "want host:port"},
		{name: "invalid auth", auth: Auth{Mode: AuthBearer}, server: "127.0.0.1:1", wantErr: "auth: bearer auth needs a token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.auth.TLSConfig(tt.server)
			_, derr := tt.auth.DialOptions(tt.server)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || derr == nil {
					t.Fatalf("TLSConfig error = %v, DialOptions error = %v; want %q", err, derr, tt.wantErr)
				}
				return
			}
			if err != nil || derr != nil {
				t.Fatalf("TLSConfig error = %v, DialOptions error = %v", err, derr)
			}
			if (cfg != nil) != tt.wantTLS {
				t.Fatalf("TLS = %v, want %v", cfg != nil, tt.wantTLS)
			}
			if cfg == nil {
				return
			}
			if cfg.ServerName != tt.serverName || cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("ServerName %q MinVersion %x, want %q TLS 1.2", cfg.ServerName, cfg.MinVersion, tt.serverName)
			}
			if hasCA := tt.auth.CAPEM != ""; (cfg.RootCAs != nil) != hasCA {
				t.Errorf("RootCAs set = %v, want %v (nil means the system roots)", cfg.RootCAs != nil, hasCA)
			}
			if mtls := tt.auth.Mode == AuthMTLS; (len(cfg.Certificates) == 1) != mtls {
				t.Errorf("client certificates %d, mtls %v", len(cfg.Certificates), mtls)
			}
		})
	}
}

func TestAuthFiles(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "ca")
	first := ca.issue(t, x509.ExtKeyUsageClientAuth)
	second := ca.issue(t, x509.ExtKeyUsageClientAuth)
	auth := Auth{
		Mode:     AuthMTLS,
		CAFile:   writeFile(t, dir, "ca.pem", ca.certPEM),
		CertFile: writeFile(t, dir, "cert.pem", first.certPEM),
		KeyFile:  writeFile(t, dir, "key.pem", first.keyPEM),
	}
	cfg, err := auth.TLSConfig("127.0.0.1:15012")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GetClientCertificate == nil || len(cfg.Certificates) != 0 {
		t.Fatal("certificate files are not reloaded per handshake")
	}
	leaf := func() string {
		t.Helper()
		c, err := cfg.GetClientCertificate(&tls.CertificateRequestInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return encodePEM("CERTIFICATE", c.Certificate[0])
	}
	if leaf() != first.certPEM {
		t.Error("the first handshake does not use the certificate in the files")
	}
	// Rotation: the next handshake picks up the new pair.
	writeFile(t, dir, "cert.pem", second.certPEM)
	writeFile(t, dir, "key.pem", second.keyPEM)
	if leaf() != second.certPEM {
		t.Error("a rotated certificate is not picked up")
	}
	// A half-written rotation (new certificate, old key) keeps the last good pair.
	writeFile(t, dir, "cert.pem", first.certPEM)
	if leaf() != second.certPEM {
		t.Error("a mismatched pair replaced the last good one")
	}
	if err := os.Remove(auth.CertFile); err != nil {
		t.Fatal(err)
	}
	if leaf() != second.certPEM {
		t.Error("a missing file replaced the last good pair")
	}

	// Missing and broken files are reported when the configuration is built.
	missing := filepath.Join(dir, "missing.pem")
	broken := writeFile(t, dir, "broken.pem", "garbage")
	errTests := []struct {
		name    string
		auth    Auth
		wantErr string
	}{
		{"missing CA", Auth{CAFile: missing}, "reading CA file"},
		{"broken CA", Auth{CAFile: broken}, "CA file " + broken + ": no PEM certificates found"},
		{"missing cert", Auth{Mode: AuthMTLS, CAFile: auth.CAFile, CertFile: missing, KeyFile: auth.KeyFile}, "reading client certificate"},
		{"missing key", Auth{Mode: AuthMTLS, CAFile: auth.CAFile, CertPEM: first.certPEM, KeyFile: missing}, "reading client key"},
		{"broken key", Auth{Mode: AuthMTLS, CAFile: auth.CAFile, CertPEM: first.certPEM, KeyFile: broken}, "client certificate and key"},
	}
	for _, tt := range errTests {
		if _, err := tt.auth.TLSConfig("127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
