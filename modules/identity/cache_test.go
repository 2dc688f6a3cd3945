package identity

import (
	"context"
	"crypto/tls"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// newTestCache is a cache signing with a test authority, destroyed with the test.
func newTestCache(t *testing.T, lifetime time.Duration) (*cache, *testAuthority) {
	t.Helper()
	a := newTestAuthority(t, 24*time.Hour)
	c := newCache("cluster.local", "test", lifetime)
	c.attach(a, zap.NewNop())
	t.Cleanup(func() { _ = c.Destruct() })
	return c, a
}

func TestCertificateRequests(t *testing.T) {
	c, _ := newTestCache(t, time.Hour)
	tests := []struct {
		id      string
		wantErr string
	}{
		{"spiffe://cluster.local/ns/a/meshlet/b", ""},
		{"spiffe://cluster.local/node/n1", ""},
		{"spiffe://cluster.local/anything/else", ""},
		{"spiffe://other.test/ns/a/meshlet/b", `is in trust domain "other.test"; this CA issues for "cluster.local" only`},
		{"spiffe://cluster.local", "names the trust domain, not a workload"},
		{"spiffe://cluster.local/a//b", "empty segment"},
		{"cluster.local/a", "must start with"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			cert, err := c.get(context.Background(), tt.id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			again, err := c.get(context.Background(), tt.id)
			if err != nil || again != cert {
				t.Errorf("second request: %p, %v; want the cached %p", again, err, cert)
			}
		})
	}
	if n := c.size(); n != 3 {
		t.Errorf("cache holds %d IDs, want 3", n)
	}
}

// TestConcurrentFirstRequests checks that simultaneous first requests for an ID share one
// issue.
func TestConcurrentFirstRequests(t *testing.T) {
	c, _ := newTestCache(t, time.Hour)
	const n = 32
	certs := make([]*tls.Certificate, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { certs[i], errs[i] = c.get(context.Background(), "spiffe://cluster.local/node/n") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || certs[i] != certs[0] {
			t.Fatalf("request %d: %p, %v; want %p", i, certs[i], errs[i], certs[0])
		}
	}
	if got := c.issued.Load(); got != 1 {
		t.Errorf("issued %d certificates, want 1", got)
	}
}

// TestRenewalFailureKeepsCertificate breaks the authority: the old certificate stays and
// renewal retries until the authority works again.
func TestRenewalFailureKeepsCertificate(t *testing.T) {
	c, a := newTestCache(t, 2*time.Second)
	const id = "spiffe://cluster.local/node/n"
	first, err := c.get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	a.fail.Store(true)
	waitFor(t, 5*time.Second, func() bool { return c.issueFailure.Load() >= 2 })
	if cur, err := c.get(context.Background(), id); err != nil || cur != first {
		t.Fatalf("during failures: %p, %v; want the first certificate %p", cur, err, first)
	}
	a.fail.Store(false)
	waitFor(t, 5*time.Second, func() bool {
		cur, err := c.get(context.Background(), id)
		return err == nil && cur != first
	})
}

// TestFailedFirstIssueIsRetried checks that a failed first issue is not cached.
func TestFailedFirstIssueIsRetried(t *testing.T) {
	c, a := newTestCache(t, time.Hour)
	const id = "spiffe://cluster.local/node/n"
	a.fail.Store(true)
	if _, err := c.get(context.Background(), id); err == nil || !strings.Contains(err.Error(), "signing key unavailable") {
		t.Fatalf("err %v, want the signing failure", err)
	}
	a.fail.Store(false)
	if _, err := c.get(context.Background(), id); err != nil {
		t.Fatalf("after the authority recovered: %v", err)
	}
}

// TestExpiredCertificateReportsRenewalError checks that once renewals have failed past
// expiry, requests get the renewal error rather than a dead certificate.
func TestExpiredCertificateReportsRenewalError(t *testing.T) {
	c, a := newTestCache(t, time.Second)
	const id = "spiffe://cluster.local/node/n"
	if _, err := c.get(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	a.fail.Store(true)
	waitFor(t, 5*time.Second, func() bool {
		_, err := c.get(context.Background(), id)
		return err != nil && strings.Contains(err.Error(), "expired") && strings.Contains(err.Error(), "signing key unavailable")
	})
}

// TestIdleCertificateDropped checks that an ID nobody asks for leaves the cache after a
// lifetime, while one in use stays.
func TestIdleCertificateDropped(t *testing.T) {
	c, _ := newTestCache(t, time.Second)
	ctx := context.Background()
	const idle, busy = "spiffe://cluster.local/node/idle", "spiffe://cluster.local/node/busy"
	for _, id := range []string{idle, busy} {
		if _, err := c.get(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, func() bool {
		if _, err := c.get(ctx, busy); err != nil {
			t.Fatal(err)
		}
		_, present := c.entries.Load(idle)
		return !present
	})
	if _, present := c.entries.Load(busy); !present {
		t.Error("the busy ID was dropped")
	}
}

// TestDestructStopsRenewals checks that nothing is issued after Destruct.
func TestDestructStopsRenewals(t *testing.T) {
	a := newTestAuthority(t, time.Hour)
	c := newCache("cluster.local", "test", time.Second)
	c.attach(a, zap.NewNop())
	if _, err := c.get(context.Background(), "spiffe://cluster.local/node/n"); err != nil {
		t.Fatal(err)
	}
	if err := c.Destruct(); err != nil {
		t.Fatal(err)
	}
	issued := c.issued.Load()
	time.Sleep(1500 * time.Millisecond)
	if got := c.issued.Load(); got != issued {
		t.Errorf("%d certificates issued after Destruct", got-issued)
	}
}

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		failures int
		lifetime time.Duration
		want     time.Duration
	}{
		{1, 24 * time.Hour, time.Second},
		{2, 24 * time.Hour, 2 * time.Second},
		{9, 24 * time.Hour, 256 * time.Second},
		{10, 24 * time.Hour, 5 * time.Minute},
		{1, 2 * time.Second, 100 * time.Millisecond},
		{3, 2 * time.Second, 400 * time.Millisecond},
		{9, 2 * time.Second, 500 * time.Millisecond},
		{1, 100 * time.Millisecond, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := retryDelay(tt.failures, tt.lifetime); got != tt.want {
			t.Errorf("retryDelay(%d, %s) = %s, want %s", tt.failures, tt.lifetime, got, tt.want)
		}
	}
}

// BenchmarkCertificate measures the hot path: a cached certificate, asked for from many
// goroutines at once.
func BenchmarkCertificate(b *testing.B) {
	a := newTestAuthority(b, 24*time.Hour)
	c := newCache("cluster.local", "test", time.Hour)
	c.attach(a, zap.NewNop())
	defer func() { _ = c.Destruct() }()
	const id = "spiffe://cluster.local/ns/shop/meshlet/cart"
	if _, err := c.get(context.Background(), id); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.get(context.Background(), id); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
