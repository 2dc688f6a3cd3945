package xds

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	grpcbackoff "google.golang.org/grpc/backoff"
)

// Backoff defaults, the ones gRPC uses for reconnecting (gRPC's connection-backoff.md):
// a fleet of clients that lost one management server comes back spread out over seconds
// instead of all at once, and a server down for long is retried every two minutes.
const (
	DefaultBackoffInitial    = 1 * time.Second
	DefaultBackoffMax        = 120 * time.Second
	DefaultBackoffMultiplier = 1.6
	DefaultBackoffJitter     = 0.2
)

// Backoff says how long to wait before reconnecting after the stream broke: Initial after
// the first failure, growing by Multiplier after each further one up to Max, each delay
// randomly spread by ±Jitter of itself. Zero fields take the defaults above; a negative
// Jitter turns jitter off (for tests that want exact delays).
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
}

// withDefaults fills zero fields.
func (b Backoff) withDefaults() Backoff {
	if b.Initial == 0 {
		b.Initial = DefaultBackoffInitial
	}
	if b.Max == 0 {
		b.Max = DefaultBackoffMax
	}
	if b.Multiplier == 0 {
		b.Multiplier = DefaultBackoffMultiplier
	}
	if b.Jitter == 0 {
		b.Jitter = DefaultBackoffJitter
	}
	return b
}

// validate checks the effective values, so it gives the same answer before and after
// defaults are filled in.
func (b Backoff) validate() error {
	var errs []error
	if b.Initial < 0 || b.Max < 0 {
		errs = append(errs, errors.New("initial and max must not be negative"))
	}
	e := b.withDefaults()
	if b.Initial >= 0 && b.Max >= 0 && e.Initial > e.Max {
		errs = append(errs, fmt.Errorf("initial %s is longer than max %s", e.Initial, e.Max))
	}
	if math.IsNaN(e.Multiplier) || e.Multiplier < 1 {
		errs = append(errs, fmt.Errorf("multiplier %v must be at least 1", e.Multiplier))
	}
	if math.IsNaN(e.Jitter) || e.Jitter > 1 {
		errs = append(errs, fmt.Errorf("jitter %v must be at most 1", e.Jitter))
	}
	return errors.Join(errs...)
}

// Delay returns how long to wait before reconnect attempt number retries+1, where retries
// counts the failures since the last successful stream (0 after the first failure). It
// follows gRPC's formula: min(Initial·Multiplier^retries, Max), then spread by ±Jitter.
func (b Backoff) Delay(retries int) time.Duration {
	b = b.withDefaults()
	d := float64(b.Initial)
	for i := 0; i < retries && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.Max))
	if b.Jitter > 0 {
		d *= 1 + b.Jitter*(rand.Float64()*2-1)
	}
	return time.Duration(max(d, 0))
}

// grpcConfig is b as the connection backoff of gRPC's ClientConn, so that the transport
// and the stream retry on the same schedule.
func (b Backoff) grpcConfig() grpcbackoff.Config {
	b = b.withDefaults()
	return grpcbackoff.Config{
		BaseDelay:  b.Initial,
		Multiplier: b.Multiplier,
		Jitter:     max(b.Jitter, 0),
		MaxDelay:   b.Max,
	}
}
