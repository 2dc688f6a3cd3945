package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"time"
)

// clockSkew backdates NotBefore so that a peer whose clock is a little behind ours accepts
// a certificate issued a moment ago.
const clockSkew = time.Minute

// authority signs workload certificates. *caddypki.CA implements it: its intermediate
// lives in Caddy storage, and Caddy's pki app renews it, so each issue reads it afresh.
type authority interface {
	RootCertificate() *x509.Certificate
	IntermediateCertificateChain() []*x509.Certificate
	IntermediateKey() crypto.Signer
}

// issue signs a new X.509 SVID for id: a fresh ECDSA P-256 key, the SPIFFE ID as the only
// SAN (no DNS names: peers verify the ID, not a host name), usable for both ends of mTLS.
// It is valid from now-clockSkew until now+lifetime, cut to the intermediate's expiry so
// the chain never outlives its issuer. The result carries the chain leaf+intermediates and
// its parsed Leaf.
func issue(auth authority, id ID, lifetime time.Duration, now time.Time) (*tls.Certificate, error) {
	chain, signer := auth.IntermediateCertificateChain(), auth.IntermediateKey()
	if len(chain) == 0 || signer == nil {
		return nil, errors.New("the authority has no intermediate certificate and key")
	}
	inter := chain[0]
	if !inter.NotAfter.After(now) {
		return nil, fmt.Errorf("the intermediate certificate (serial %s) expired at %s", inter.SerialNumber, inter.NotAfter)
	}
	// X.509 times have whole seconds: truncate here so that the lifetime is never exceeded
	// and the renewal schedule sees the time the certificate says.
	notAfter := now.Add(lifetime).Truncate(time.Second)
	if inter.NotAfter.Before(notAfter) {
		notAfter = inter.NotAfter
	}
	if !notAfter.After(now) {
		return nil, fmt.Errorf("lifetime %s is too short to issue a certificate valid after %s", lifetime, now)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generating a serial number: %w", err)
	}
	uri, err := url.Parse(id.String())
	if err != nil {
		return nil, fmt.Errorf("SPIFFE ID %s as a URI: %w", id, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		URIs:                  []*url.URL{uri},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	// CreateCertificate checks that signer belongs to inter, which catches reading the
	// chain and key across one of Caddy's intermediate renewals.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, inter, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("signing the certificate for %s: %w", id, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the certificate just signed for %s: %w", id, err)
	}
	raw := make([][]byte, 0, 1+len(chain))
	raw = append(raw, der)
	for _, c := range chain {
		raw = append(raw, c.Raw)
	}
	return &tls.Certificate{Certificate: raw, PrivateKey: key, Leaf: leaf}, nil
}
