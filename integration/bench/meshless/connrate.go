package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// echoTimeout bounds one connection's echo round trip.
const echoTimeout = 10 * time.Second

// echoOnce writes mode 'e' and one byte and reads the byte back.
func echoOnce(c interface {
	io.ReadWriter
	SetDeadline(time.Time) error
}) error {
	_ = c.SetDeadline(time.Now().Add(echoTimeout))
	if _, err := c.Write([]byte{modeEcho, 'x'}); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return fmt.Errorf("reading the echo: %w", err)
	}
	if b[0] != 'x' {
		return fmt.Errorf("echoed %q, want 'x'", b[0])
	}
	return c.SetDeadline(time.Time{})
}

// connrateSample is one path at one concurrency for the whole duration.
type connrateSample struct {
	Round       int     `json:"round"`
	Path        string  `json:"path"`
	Concurrency int     `json:"concurrency"`
	Conns       int     `json:"conns"`  // completed: connected, echoed, closed
	Errors      int     `json:"errors"` // failed attempts
	FirstError  string  `json:"first_error,omitempty"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"conns_per_s"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
}

// connrate runs workers that each loop connect, echo one byte, close, until d has passed,
// and records each connection's latency from the start of connect to the echoed byte.
func connrate(ctx context.Context, dial dialFunc, workers int, d time.Duration) connrateSample {
	var (
		mu       sync.Mutex
		lat      []time.Duration
		errs     int
		firstErr error
	)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var mine []time.Duration
			var myErrs int
			var myFirst error
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				err := func() error {
					c, err := dial(ctx)
					if err != nil {
						return fmt.Errorf("dialing: %w", err)
					}
					defer c.Close()
					return echoOnce(c)
				}()
				if err != nil {
					myErrs++
					if myFirst == nil {
						myFirst = err
					}
					_ = sleep(ctx, time.Millisecond) // do not spin on a broken path
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += myErrs
			if firstErr == nil {
				firstErr = myFirst
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	s := connrateSample{
		Concurrency: workers,
		Conns:       len(lat),
		Errors:      errs,
		Seconds:     elapsed.Seconds(),
		PerSecond:   float64(len(lat)) / elapsed.Seconds(),
		P50us:       micros(percentile(lat, 50)),
		P99us:       micros(percentile(lat, 99)),
	}
	if firstErr != nil {
		s.FirstError = firstErr.Error()
	}
	return s
}

// percentile returns the p-th percentile of sorted values (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100 // ceil(len * p / 100)
	return sorted[max(rank, 1)-1]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func runConnrate(ctx context.Context, paths []path, o options) []connrateSample {
	var samples []connrateSample
	for round := range o.rounds {
		for _, workers := range o.concurrency {
			for _, p := range rotate(paths, round) {
				s := connrate(ctx, p.dial, workers, o.duration)
				s.Round, s.Path = round+1, p.name
				logf("connrate   round %d %-14s C=%-3d %8.0f conns/s  p50 %7.0fµs  p99 %7.0fµs  errors %d%s",
					s.Round, p.name, workers, s.PerSecond, s.P50us, s.P99us, s.Errors, firstError(s.FirstError))
				samples = append(samples, s)
				if ctx.Err() != nil {
					return samples
				}
			}
		}
	}
	return samples
}

func firstError(e string) string {
	if e == "" {
		return ""
	}
	return " (first: " + e + ")"
}
