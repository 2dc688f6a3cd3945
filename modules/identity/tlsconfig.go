package identity

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

// VerifyPeer verifies a peer's certificate chain as presented in a TLS handshake (leaf
// first, then intermediates) against bundle, and returns the peer's SPIFFE ID, which must
// be of trustDomain. Host names play no part: a SPIFFE peer is named by its ID. Any
// extended key usage is accepted; ServerConfig and ClientConfig require the one that fits.
func VerifyPeer(bundle *x509.CertPool, trustDomain string, rawCerts [][]byte) (ID, error) {
	return verifyPeer(bundle, trustDomain, rawCerts, x509.ExtKeyUsageAny)
}

func verifyPeer(bundle *x509.CertPool, trustDomain string, rawCerts [][]byte, usage x509.ExtKeyUsage) (ID, error) {
	if len(rawCerts) == 0 {
		return ID{}, errors.New("peer presented no certificate")
	}
	if bundle == nil {
		return ID{}, errors.New("no trust bundle to verify the peer against")
	}
	certs := make([]*x509.Certificate, len(rawCerts))
	for i, raw := range rawCerts {
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return ID{}, fmt.Errorf("parsing peer certificate %d: %w", i, err)
		}
		certs[i] = c
	}
	return verifyChain(bundle, trustDomain, certs, usage)
}

func verifyChain(bundle *x509.CertPool, trustDomain string, certs []*x509.Certificate, usage x509.ExtKeyUsage) (ID, error) {
	leaf := certs[0]
	// Read the ID first, so that a certificate of another mesh says so rather than only
	// "unknown authority".
	id, err := FromCertificate(leaf)
	if err != nil {
		return ID{}, fmt.Errorf("peer certificate: %w", err)
	}
	if id.TrustDomain != trustDomain {
		return ID{}, fmt.Errorf("peer certificate is from trust domain %q, want %q (peer %s)", id.TrustDomain, trustDomain, id)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{
		Roots:         bundle,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return ID{}, fmt.Errorf("verifying the certificate of peer %s: %w", id, err)
	}
	return id, nil
}

// ServerConfig returns a TLS 1.3 server config for mutual TLS between workloads: it
// presents the certificate of self, asked of p at each handshake so that renewals take
// effect, requires a client certificate that chains to p's trust bundle and names a SPIFFE
// ID of p's trust domain, and then asks authorize (if not nil) whether that peer may
// connect. Set NextProtos on the result as needed.
//
// The peer is checked in VerifyConnection rather than VerifyPeerCertificate because Go
// calls it on resumed sessions too, so a resumed session is checked against the current
// trust bundle and authorization.
func ServerConfig(p mesh.Identity, self ID, authorize func(peer ID) error) *tls.Config {
	name := self.String()
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			return p.Certificate(hello.Context(), name)
		},
		ClientAuth:       tls.RequireAnyClientCert,
		VerifyConnection: verifyConnection(p, x509.ExtKeyUsageClientAuth, authorize),
	}
}

// ClientConfig returns a TLS 1.3 client config for mutual TLS between workloads: it
// presents the certificate of self, asked of p at each handshake, and verifies that the
// server's certificate chains to p's trust bundle and names a SPIFFE ID of p's trust
// domain, then asks verifyServer (if not nil) whether it is the expected server.
//
// InsecureSkipVerify only turns off Go's host name verification, which does not apply to
// SPIFFE certificates (they carry no DNS names); the chain is verified in VerifyConnection.
func ClientConfig(p mesh.Identity, self ID, verifyServer func(peer ID) error) *tls.Config {
	name := self.String()
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return p.Certificate(cri.Context(), name)
		},
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection:   verifyConnection(p, x509.ExtKeyUsageServerAuth, verifyServer),
	}
}

func verifyConnection(p mesh.Identity, usage x509.ExtKeyUsage, check func(ID) error) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("peer presented no certificate")
		}
		id, err := verifyChain(p.TrustBundle(), p.TrustDomain(), cs.PeerCertificates, usage)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(id); err != nil {
				return fmt.Errorf("peer %s refused: %w", id, err)
			}
		}
		return nil
	}
}

// PeerID returns the SPIFFE ID of the peer of a completed handshake made with ServerConfig
// or ClientConfig (which verified it).
func PeerID(cs tls.ConnectionState) (ID, error) {
	if !cs.HandshakeComplete {
		return ID{}, errors.New("TLS handshake not complete")
	}
	if len(cs.PeerCertificates) == 0 {
		return ID{}, errors.New("peer presented no certificate")
	}
	return FromCertificate(cs.PeerCertificates[0])
}
