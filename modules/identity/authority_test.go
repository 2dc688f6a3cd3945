package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"sync/atomic"
	"testing"
	"time"
)

// testAuthority is a root and intermediate made in the test, for unit tests of the cache
// that need to break signing on purpose. Tests of the module use Caddy's pki app instead.
type testAuthority struct {
	root  *x509.Certificate
	chain []*x509.Certificate
	key   crypto.Signer
	fail  atomic.Bool // when set, signing fails
}

func newTestAuthority(t testing.TB, interLifetime time.Duration) *testAuthority {
	t.Helper()
	rootKey := newKey(t)
	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	root := sign(t, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	interKey := newKey(t)
	interTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test intermediate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(interLifetime),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	inter := sign(t, interTmpl, root, interKey.Public(), rootKey)
	return &testAuthority{root: root, chain: []*x509.Certificate{inter}, key: interKey}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (a *testAuthority) RootCertificate() *x509.Certificate                { return a.root }
func (a *testAuthority) IntermediateCertificateChain() []*x509.Certificate { return a.chain }
func (a *testAuthority) IntermediateKey() crypto.Signer {
	if a.fail.Load() {
		return failingSigner{a.key}
	}
	return a.key
}

func (a *testAuthority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.root)
	return p
}

// failingSigner has the intermediate's public key but cannot sign, as a CA whose key
// became unavailable.
type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("signing key unavailable")
}
