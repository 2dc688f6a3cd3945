package main

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// countTimeout is how long the client waits for the count after half-closing. A path that
// does not carry the half-close to the server never answers.
const countTimeout = 30 * time.Second

// payload is what the client writes, 256 KiB at a time. Its content does not matter: no
// hop compresses.
var payload = func() []byte {
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}()

// throughput sends n bytes in mode 'd' over one connection, half-closes, reads the
// server's count and checks it. It times from the first byte written to the count read,
// leaving out the connection's setup.
func throughput(ctx context.Context, dial dialFunc, n int64) (time.Duration, error) {
	c, err := dial(ctx)
	if err != nil {
		return 0, fmt.Errorf("dialing: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	cw, ok := c.(closeWriter)
	if !ok {
		return 0, fmt.Errorf("a %T cannot half-close", c)
	}

	start := time.Now()
	if _, err := c.Write([]byte{modeDiscard}); err != nil {
		return 0, fmt.Errorf("writing the mode: %w", err)
	}
	for left := n; left > 0; {
		k := min(int64(len(payload)), left)
		if _, err := c.Write(payload[:k]); err != nil {
			return 0, fmt.Errorf("writing after %d of %d bytes: %w", n-left, n, err)
		}
		left -= k
	}
	if err := cw.CloseWrite(); err != nil {
		return 0, fmt.Errorf("half-closing: %w", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(countTimeout))
	var count [8]byte
	if _, err := io.ReadFull(c, count[:]); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, fmt.Errorf("no count %s after half-closing: does the path carry the half-close to the server? %w", countTimeout, err)
		}
		return 0, fmt.Errorf("reading the count: %w", err)
	}
	elapsed := time.Since(start)
	if got := int64(binary.BigEndian.Uint64(count[:])); got != n {
		return 0, fmt.Errorf("the server counted %d bytes, want %d", got, n)
	}
	return elapsed, nil
}

// throughputSample is one transfer.
type throughputSample struct {
	Round   int     `json:"round"`
	Path    string  `json:"path"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds,omitempty"`
	GBps    float64 `json:"gb_per_s,omitempty"` // 10^9 bytes per second
	Error   string  `json:"error,omitempty"`
}

func runThroughput(ctx context.Context, paths []path, o options) []throughputSample {
	var samples []throughputSample
	for round := range o.rounds {
		for _, p := range rotate(paths, round) {
			s := throughputSample{Round: round + 1, Path: p.name, Bytes: int64(o.bytes)}
			d, err := throughput(ctx, p.dial, int64(o.bytes))
			if err != nil {
				s.Error = err.Error()
				logf("throughput round %d %-14s error: %v", s.Round, p.name, err)
			} else {
				s.Seconds = d.Seconds()
				s.GBps = float64(o.bytes) / 1e9 / s.Seconds
				logf("throughput round %d %-14s %7.3f GB/s (%s in %s)", s.Round, p.name, s.GBps, o.bytes, d.Round(time.Millisecond))
			}
			samples = append(samples, s)
			if ctx.Err() != nil {
				return samples
			}
		}
	}
	return samples
}

// tlsSuite returns the TLS version and cipher suite that dial negotiates.
func tlsSuite(ctx context.Context, dial dialFunc) (string, error) {
	c, err := dial(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	tc, ok := c.(*tls.Conn)
	if !ok {
		return "", fmt.Errorf("a %T is not a TLS connection", c)
	}
	st := tc.ConnectionState()
	return tls.VersionName(st.Version) + " " + tls.CipherSuiteName(st.CipherSuite), nil
}
