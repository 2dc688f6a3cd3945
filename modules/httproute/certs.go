package httproute

import (
	"bytes"
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
)

// atomicCerts are an HTTPS port's certificates, chosen by SNI, swapped as a whole when a
// Secret or listener changes; handshakes read them without a lock.
type atomicCerts struct {
	p atomic.Pointer[certSet]

	mu   sync.Mutex // guards last
	last []*gatewayapi.Certificate
}

// certSet is one parsed generation of a port's certificates.
type certSet struct {
	exact    map[string]*tls.Certificate
	wildcard map[string]*tls.Certificate // "*.example.com" filed under ".example.com"
	fallback *tls.Certificate            // a listener without a hostname
}

// set parses the certificates, unless they are the ones already served.
func (a *atomicCerts) set(certs []*gatewayapi.Certificate, logger *zap.Logger) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if sameCerts(a.last, certs) && a.p.Load() != nil {
		return
	}
	a.last = certs
	s := &certSet{exact: map[string]*tls.Certificate{}, wildcard: map[string]*tls.Certificate{}}
	for _, c := range certs {
		kp, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
		if err != nil {
			logger.Error("gateway certificate", zap.String("secret", c.Secret), zap.Error(err))
			continue
		}
		h := strings.ToLower(c.Hostname)
		switch {
		case h == "":
			if s.fallback == nil {
				s.fallback = &kp
			}
		case strings.HasPrefix(h, "*."):
			if _, dup := s.wildcard[h[1:]]; !dup {
				s.wildcard[h[1:]] = &kp
			}
		default:
			if _, dup := s.exact[h]; !dup {
				s.exact[h] = &kp
			}
		}
	}
	a.p.Store(s)
}

func sameCerts(a, b []*gatewayapi.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Hostname != b[i].Hostname || !bytes.Equal(a[i].CertPEM, b[i].CertPEM) || !bytes.Equal(a[i].KeyPEM, b[i].KeyPEM) {
			return false
		}
	}
	return true
}

var errNoCertificate = errors.New("no certificate for the server name")

// get is tls.Config.GetCertificate: the most specific listener hostname that matches the
// SNI, else the listener without a hostname.
func (a *atomicCerts) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s := a.p.Load()
	if s == nil {
		return nil, errNoCertificate
	}
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if c, ok := s.exact[name]; ok {
		return c, nil
	}
	for i := 1; i < len(name); i++ {
		if name[i] == '.' {
			if c, ok := s.wildcard[name[i:]]; ok {
				return c, nil
			}
		}
	}
	if s.fallback != nil {
		return s.fallback, nil
	}
	// No SNI match: a client that sent no name (or an IP) gets some certificate rather
	// than a handshake failure, as web servers do.
	for _, c := range s.exact {
		return c, nil
	}
	for _, c := range s.wildcard {
		return c, nil
	}
	return nil, errNoCertificate
}
