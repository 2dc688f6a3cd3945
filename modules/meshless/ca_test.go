package meshless

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/identity"
	"github.com/caddymesh/caddymesh/modules/mesh"
)

// testCA is a mesh.Identity backed by a throwaway ECDSA P-256 root, built with crypto/x509
// alone so that the tests do not depend on how modules/identity issues certificates. Each
// SPIFFE ID gets one leaf, cached until rotate. With rotateRoots, rotate also replaces the
// root, and the trust bundle holds the current and the previous one, as during a real root
// rotation: a certificate two rotations old no longer verifies.
type testCA struct {
	td          string
	rotateRoots bool

	issued atomic.Int64 // leaves issued, over all generations

	mu     sync.Mutex
	key    *ecdsa.PrivateKey // the current root's
	root   *x509.Certificate
	pool   *x509.CertPool              // current and, after a root rotation, previous root
	gen    int                         // bumped by rotate
	leaves map[string]*tls.Certificate // by SPIFFE ID, this generation
	asked  map[int]map[string]int      // Certificate calls answered, by generation and ID
	serial int64
}

var _ mesh.Identity = (*testCA)(nil)

// newTestCA returns a CA of the trust domain td.
func newTestCA(t testing.TB, td string) *testCA {
	t.Helper()
	c := &testCA{td: td, serial: 1, leaves: make(map[string]*tls.Certificate), asked: make(map[int]map[string]int)}
	if err := c.newRootLocked(); err != nil {
		t.Fatal(err)
	}
	c.pool = x509.NewCertPool()
	c.pool.AddCert(c.root)
	return c
}

// newRootLocked makes a new root the current one.
func (c *testCA) newRootLocked() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(int64(c.gen) + 1),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("test root %s %d", c.td, c.gen)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		URIs:                  []*url.URL{{Scheme: "spiffe", Host: c.td}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	c.key, c.root = key, root
	return nil
}

func (c *testCA) TrustDomain() string { return c.td }

func (c *testCA) TrustBundle() *x509.CertPool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pool
}

// Certificate returns the current leaf of spiffeID, issuing it on first use in a generation.
func (c *testCA) Certificate(_ context.Context, spiffeID string) (*tls.Certificate, error) {
	id, err := identity.ParseID(spiffeID)
	if err != nil {
		return nil, err
	}
	if id.TrustDomain != c.td {
		return nil, fmt.Errorf("test CA of %q asked for %s", c.td, spiffeID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.asked[c.gen] == nil {
		c.asked[c.gen] = make(map[string]int)
	}
	c.asked[c.gen][spiffeID]++
	if cert, ok := c.leaves[spiffeID]; ok {
		return cert, nil
	}
	cert, err := c.issueLocked(id)
	if err != nil {
		return nil, err
	}
	c.leaves[spiffeID] = cert
	return cert, nil
}

func (c *testCA) issueLocked(id identity.ID) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c.serial++
	u, err := url.Parse(id.String())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(c.serial),
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{u},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.root, &key.PublicKey, c.key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	c.issued.Add(1)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// rotate makes the next Certificate calls issue fresh leaves (under a new root, with
// rotateRoots), and returns the new generation.
func (c *testCA) rotate() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.leaves)
	if c.rotateRoots {
		prev := c.root
		if err := c.newRootLocked(); err != nil {
			return c.gen, err
		}
		pool := x509.NewCertPool() // a new pool: callers may hold the old one
		pool.AddCert(c.root)
		pool.AddCert(prev)
		c.pool = pool
	}
	return c.gen, nil
}

// askedIn returns how many times each ID's certificate was asked for in generation gen:
// each TLS handshake of the tunnel asks once on each side.
func (c *testCA) askedIn(gen int) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.asked[gen]))
	for id, n := range c.asked[gen] {
		out[id] = n
	}
	return out
}
