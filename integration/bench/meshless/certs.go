package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// serverName is the name in the server certificate, checked by every client of it.
const serverName = "server.meshless.bench"

// pki is a throwaway CA with one server and one client certificate, all ECDSA P-256, as
// PEM files for HAProxy and the server process and as tls.Certificates for the client.
type pki struct {
	caFile     string // the CA certificate
	serverCert string // the server certificate
	serverKey  string // its key
	serverPEM  string // certificate and key in one file, as HAProxy's crt wants
	clientPEM  string // the client certificate and key in one file

	client tls.Certificate
	pool   *x509.CertPool
}

// newPKI writes a CA and its two leaf certificates to dir.
func newPKI(dir string) (*pki, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "meshless bench CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("creating the CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}

	p := &pki{
		caFile:     filepath.Join(dir, "ca.pem"),
		serverCert: filepath.Join(dir, "server.crt"),
		serverKey:  filepath.Join(dir, "server.key"),
		serverPEM:  filepath.Join(dir, "server.pem"),
		clientPEM:  filepath.Join(dir, "client.pem"),
		pool:       x509.NewCertPool(),
	}
	p.pool.AddCert(ca)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := os.WriteFile(p.caFile, caPEM, 0o644); err != nil {
		return nil, err
	}

	serverCert, serverKey, err := leaf(ca, caKey, 2, x509.ExtKeyUsageServerAuth, serverName)
	if err != nil {
		return nil, fmt.Errorf("creating the server certificate: %w", err)
	}
	clientCert, clientKey, err := leaf(ca, caKey, 3, x509.ExtKeyUsageClientAuth, "client.meshless.bench")
	if err != nil {
		return nil, fmt.Errorf("creating the client certificate: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{p.serverCert, serverCert},
		{p.serverKey, serverKey},
		{p.serverPEM, append(append([]byte{}, serverCert...), serverKey...)},
		{p.clientPEM, append(append([]byte{}, clientCert...), clientKey...)},
	} {
		if err := os.WriteFile(f.name, f.data, 0o600); err != nil {
			return nil, err
		}
	}
	if p.client, err = tls.X509KeyPair(clientCert, clientKey); err != nil {
		return nil, err
	}
	return p, nil
}

// leaf issues a certificate for name (and the loopback addresses) and returns it and its
// key as PEM.
func leaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, serial int64, usage x509.ExtKeyUsage, name string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3)},
		NotBefore:    ca.NotBefore,
		NotAfter:     ca.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// clientTLS is the client's configuration for the tls path: TLS 1.3, the client
// certificate, the server verified against the CA.
func (p *pki) clientTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{p.client},
		RootCAs:      p.pool,
		ServerName:   serverName,
	}
}
