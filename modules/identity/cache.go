package identity

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// cache holds the workload certificates of one configuration of the internal CA, one
// entry per SPIFFE ID, and renews each at half its lifetime. It lives in a caddy.UsagePool
// so that a config reload keeps it (and its certificates); the last config to let go
// destroys it.
//
// The hot path (a handshake asking for a certificate it asked for before) is a lock-free
// map read and an atomic pointer load. Issuing happens on the first request for an ID and
// in the renewal timers.
type cache struct {
	trustDomain string
	authority   string // for metrics
	lifetime    time.Duration
	now         func() time.Time

	entries sync.Map // SPIFFE ID string → *entry

	issued       atomic.Uint64 // certificates signed, first issues and renewals
	issueFailure atomic.Uint64 // signing attempts that failed

	mu      sync.Mutex
	sources []*source // the authorities of the configs holding the cache; the last one signs
	closed  bool
	renews  sync.WaitGroup // renewals in flight, awaited by destroy
}

// source is one config's authority: after a reload the new config's CA object (holding
// the intermediate its pki app renews) signs, and if that config fails to start, the
// previous one's takes over again.
type source struct {
	auth   authority
	logger *zap.Logger
}

// entry is one SPIFFE ID's certificate.
type entry struct {
	key string
	id  ID

	cert    atomic.Pointer[tls.Certificate] // nil until the first issue succeeds
	used    atomic.Int64                    // Unix nanoseconds of a recent request
	lastErr atomic.Pointer[error]           // of the last failed renewal, nil after a success

	ready chan struct{} // closed when the first issue has finished
	err   error         // of the first issue; written before ready is closed

	// Only the entry's timer callback touches failures; mu guards timer.
	failures int
	timer    *time.Timer
}

func newCache(trustDomain, authority string, lifetime time.Duration) *cache {
	return &cache{trustDomain: trustDomain, authority: authority, lifetime: lifetime, now: time.Now}
}

// attach makes auth the signing authority until detach is called.
func (c *cache) attach(auth authority, logger *zap.Logger) (detach func()) {
	src := &source{auth: auth, logger: logger}
	c.mu.Lock()
	c.sources = append(c.sources, src)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, s := range c.sources {
			if s == src {
				c.sources = append(c.sources[:i], c.sources[i+1:]...)
				return
			}
		}
	}
}

func (c *cache) current() *source {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sources) == 0 {
		return nil
	}
	return c.sources[len(c.sources)-1]
}

func (c *cache) logger() *zap.Logger {
	if s := c.current(); s != nil {
		return s.logger
	}
	return zap.NewNop()
}

// get returns the current certificate for the SPIFFE ID s, issuing it on first use.
func (c *cache) get(ctx context.Context, s string) (*tls.Certificate, error) {
	if v, ok := c.entries.Load(s); ok {
		return c.serve(ctx, v.(*entry))
	}
	id, err := ParseID(s)
	if err != nil {
		return nil, err
	}
	switch {
	case id.TrustDomain != c.trustDomain:
		return nil, fmt.Errorf("SPIFFE ID %s is in trust domain %q; this CA issues for %q only", s, id.TrustDomain, c.trustDomain)
	case id.Path == "":
		return nil, fmt.Errorf("SPIFFE ID %s names the trust domain, not a workload", s)
	}
	e := &entry{key: s, id: id, ready: make(chan struct{})}
	if v, loaded := c.entries.LoadOrStore(s, e); loaded {
		return c.serve(ctx, v.(*entry)) // another caller is issuing it
	}
	return c.first(e)
}

// serve returns an entry's certificate, waiting for its first issue if need be.
func (c *cache) serve(ctx context.Context, e *entry) (*tls.Certificate, error) {
	cert := e.cert.Load()
	if cert == nil {
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the certificate of %s: %w", e.key, ctx.Err())
		}
		if cert = e.cert.Load(); cert == nil {
			return nil, e.err
		}
	}
	now := c.now()
	c.touch(e, now)
	if now.After(cert.Leaf.NotAfter) {
		if errp := e.lastErr.Load(); errp != nil {
			return nil, fmt.Errorf("the certificate of %s expired at %s and renewing it fails: %w", e.key, cert.Leaf.NotAfter, *errp)
		}
	}
	return cert, nil
}

// touch records that e is in use, writing at most a few times per lifetime so that busy
// IDs do not keep bouncing the cache line between cores.
func (c *cache) touch(e *entry, now time.Time) {
	n := now.UnixNano()
	if n-e.used.Load() > int64(c.lifetime/8) {
		e.used.Store(n)
	}
}

// first issues a new entry's first certificate. On failure the entry is removed, so the
// next request tries again.
func (c *cache) first(e *entry) (*tls.Certificate, error) {
	defer close(e.ready)
	now := c.now()
	cert, err := c.sign(e.id, now)
	if err != nil {
		e.err = fmt.Errorf("issuing the certificate of %s: %w", e.key, err)
		c.entries.CompareAndDelete(e.key, e)
		return nil, e.err
	}
	e.used.Store(now.UnixNano())
	e.cert.Store(cert)
	c.schedule(e, renewDelay(cert, now))
	return cert, nil
}

func (c *cache) sign(id ID, now time.Time) (*tls.Certificate, error) {
	src := c.current()
	if src == nil {
		c.issueFailure.Add(1)
		return nil, errors.New("no certificate authority attached")
	}
	cert, err := issue(src.auth, id, c.lifetime, now)
	if err != nil {
		c.issueFailure.Add(1)
		return nil, err
	}
	c.issued.Add(1)
	return cert, nil
}

// size is the number of cached IDs, for metrics.
func (c *cache) size() int {
	n := 0
	c.entries.Range(func(_, _ any) bool { n++; return true })
	return n
}

// Destruct stops the renewals and waits for any in flight, so that no goroutine outlives
// the cache. It implements caddy.Destructor for the usage pool.
func (c *cache) Destruct() error {
	c.mu.Lock()
	c.closed = true
	c.entries.Range(func(_, v any) bool {
		if t := v.(*entry).timer; t != nil {
			t.Stop()
		}
		return true
	})
	c.mu.Unlock()
	c.renews.Wait()
	return nil
}
