package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestIssuedCertificate checks a certificate of the internal CA on Caddy's pki app.
func TestIssuedCertificate(t *testing.T) {
	e := newEnv(t, "mesh")
	p := e.provider(t, map[string]any{"lifetime": "1h"})
	id := MeshletID("cluster.local", "shop", "cart")

	before := time.Now()
	cert, err := p.Certificate(context.Background(), id.String())
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		t.Fatal("Leaf not set")
	}
	if got, err := FromCertificate(leaf); err != nil || got != id {
		t.Errorf("SPIFFE ID %v, %v; want %v", got, err, id)
	}
	if len(leaf.DNSNames)+len(leaf.IPAddresses)+len(leaf.EmailAddresses) != 0 {
		t.Errorf("unexpected SANs: %v %v %v", leaf.DNSNames, leaf.IPAddresses, leaf.EmailAddresses)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("key usage %v, want digital signature only", leaf.KeyUsage)
	}
	if want := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}; !slices.Equal(leaf.ExtKeyUsage, want) {
		t.Errorf("extended key usage %v, want %v", leaf.ExtKeyUsage, want)
	}
	if leaf.IsCA {
		t.Error("leaf is a CA")
	}
	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Errorf("private key %T, want ECDSA P-256", cert.PrivateKey)
	} else if !key.PublicKey.Equal(leaf.PublicKey) {
		t.Error("private key does not match the leaf")
	}

	// The chain is leaf + the pki CA's intermediate, and verifies to the trust bundle.
	ca, err := pkiAuthority(e.ctx, "mesh")
	if err != nil {
		t.Fatal(err)
	}
	inter := ca.IntermediateCertificateChain()[0]
	if len(cert.Certificate) != 2 || !slices.Equal(cert.Certificate[1], inter.Raw) {
		t.Fatalf("chain has %d certificates; want leaf + the pki intermediate", len(cert.Certificate))
	}
	if got, err := VerifyPeer(p.TrustBundle(), "cluster.local", cert.Certificate); err != nil || got != id {
		t.Errorf("VerifyPeer = %v, %v", got, err)
	}
	if roots := p.Roots(); len(roots) != 1 || !roots[0].Equal(ca.RootCertificate()) {
		t.Errorf("Roots() = %d certificates, want the pki root", len(roots))
	}

	// Valid from a minute ago for at most the lifetime (X.509 times have whole seconds).
	if d := before.Sub(leaf.NotBefore); d < clockSkew || d > clockSkew+2*time.Second {
		t.Errorf("NotBefore %s is %s before issue, want about %s", leaf.NotBefore, d, clockSkew)
	}
	if d := leaf.NotAfter.Sub(before); d > time.Hour || d < time.Hour-2*time.Second {
		t.Errorf("NotAfter is %s after issue, want about 1h", d)
	}
}

func TestIssueLimits(t *testing.T) {
	tests := []struct {
		name          string
		interLifetime time.Duration
		lifetime      time.Duration
		wantErr       string
		wantCapped    bool // NotAfter is the intermediate's
	}{
		{"lifetime within the intermediate", 48 * time.Hour, time.Hour, "", false},
		{"capped at the intermediate's expiry", 30 * time.Minute, time.Hour, "", true},
		{"expired intermediate", -time.Minute, time.Hour, "expired", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAuthority(t, tt.interLifetime)
			now := time.Now()
			cert, err := issue(a, NodeID("td", "n"), tt.lifetime, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if capped := cert.Leaf.NotAfter.Equal(a.chain[0].NotAfter); capped != tt.wantCapped {
				t.Errorf("NotAfter %s, intermediate's %s; capped=%v, want %v", cert.Leaf.NotAfter, a.chain[0].NotAfter, capped, tt.wantCapped)
			}
			if _, err := VerifyPeer(a.pool(), "td", cert.Certificate); err != nil {
				t.Errorf("VerifyPeer: %v", err)
			}
		})
	}
}
