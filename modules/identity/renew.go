package identity

import (
	"crypto/tls"
	"time"

	"go.uber.org/zap"
)

// Background renewal: each cached certificate has a timer that fires at half its remaining
// life (time.AfterFunc, so an idle cache runs no goroutine), and Destruct stops them all.

// schedule arms e's renewal after d, unless the cache is destroyed.
func (c *cache) schedule(e *entry, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	e.timer = time.AfterFunc(d, func() { c.renew(e) })
}

// renew replaces e's certificate, or drops e if nobody asked for it for a whole lifetime.
// On failure the old certificate stays and the renewal is retried with backoff.
func (c *cache) renew(e *entry) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.renews.Add(1)
	c.mu.Unlock()
	defer c.renews.Done()

	now := c.now()
	if idle := now.Sub(time.Unix(0, e.used.Load())); idle > c.lifetime {
		c.entries.CompareAndDelete(e.key, e)
		c.logger().Debug("dropped an unused workload certificate", zap.String("spiffe_id", e.key), zap.Duration("idle", idle))
		return
	}
	cert, err := c.sign(e.id, now)
	if err != nil {
		e.failures++
		e.lastErr.Store(&err)
		retry := retryDelay(e.failures, c.lifetime)
		c.logger().Error("renewing a workload certificate; keeping the current one",
			zap.String("spiffe_id", e.key),
			zap.Time("expires", e.cert.Load().Leaf.NotAfter),
			zap.Int("attempt", e.failures),
			zap.Duration("retry_in", retry),
			zap.Error(err))
		c.schedule(e, retry)
		return
	}
	e.failures = 0
	e.lastErr.Store(nil)
	e.cert.Store(cert)
	c.logger().Debug("renewed a workload certificate",
		zap.String("spiffe_id", e.key),
		zap.String("serial", cert.Leaf.SerialNumber.String()),
		zap.Time("expires", cert.Leaf.NotAfter))
	c.schedule(e, renewDelay(cert, now))
}

// renewDelay is half the time the certificate has left: new handshakes move to the new
// certificate while the old one still has half its life, which leaves room for retries.
func renewDelay(cert *tls.Certificate, now time.Time) time.Duration {
	return max(cert.Leaf.NotAfter.Sub(now)/2, 0)
}

// retryDelay backs off exponentially from a twentieth of the lifetime (at most 1s) to a
// quarter of it (at most 5m).
func retryDelay(failures int, lifetime time.Duration) time.Duration {
	base := max(min(time.Second, lifetime/20), 10*time.Millisecond)
	ceiling := max(min(5*time.Minute, lifetime/4), base)
	d := base
	for i := 1; i < failures && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}
