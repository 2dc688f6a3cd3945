package xds

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestBackoffDelayWithoutJitter(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 10 * time.Second, Multiplier: 2, Jitter: -1}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for retries, w := range want {
		if got := b.Delay(retries); got != w*time.Second {
			t.Errorf("Delay(%d) = %s, want %s", retries, got, w*time.Second)
		}
	}
	if got := b.Delay(math.MaxInt); got != 10*time.Second {
		t.Errorf("Delay(MaxInt) = %s, want the max", got)
	}
	if got := b.Delay(-1); got != time.Second {
		t.Errorf("Delay(-1) = %s, want the initial delay", got)
	}
}

func TestBackoffDelayDefaultsAndJitter(t *testing.T) {
	var b Backoff // gRPC's schedule: 1s, ×1.6, max 120s, ±20%
	tests := []struct {
		retries int
		base    time.Duration
	}{
		{0, time.Second},
		{1, 1600 * time.Millisecond},
		{2, 2560 * time.Millisecond},
		{50, 120 * time.Second},
	}
	for _, tt := range tests {
		lo, hi := time.Duration(float64(tt.base)*0.8), time.Duration(float64(tt.base)*1.2)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := b.Delay(tt.retries)
			if d < lo || d > hi {
				t.Fatalf("Delay(%d) = %s, want within [%s, %s]", tt.retries, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 50 {
			t.Errorf("Delay(%d) took only %d distinct values in 200 draws: no jitter?", tt.retries, len(seen))
		}
	}
}

func TestBackoffValidate(t *testing.T) {
	tests := []struct {
		name    string
		b       Backoff
		wantErr string // "" when valid
	}{
		{"defaults", Backoff{}, ""},
		{"explicit", Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 1, Jitter: 1}, ""},
		{"no jitter", Backoff{Jitter: -1}, ""},
		{"negative initial", Backoff{Initial: -time.Second}, "must not be negative"},
		{"negative max", Backoff{Max: -time.Second}, "must not be negative"},
		{"initial above max", Backoff{Initial: time.Minute, Max: time.Second}, "initial 1m0s is longer than max 1s"},
		{"initial above default max", Backoff{Initial: time.Hour}, "longer than max 2m0s"},
		{"shrinking", Backoff{Multiplier: 0.5}, "multiplier 0.5 must be at least 1"},
		{"NaN multiplier", Backoff{Multiplier: math.NaN()}, "multiplier NaN"},
		{"jitter above 1", Backoff{Jitter: 1.5}, "jitter 1.5 must be at most 1"},
		{"NaN jitter", Backoff{Jitter: math.NaN()}, "jitter NaN"},
	}
	for _, tt := range tests {
		err := tt.b.validate()
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestBackoffGRPCConfig(t *testing.T) {
	got := Backoff{Jitter: -1}.grpcConfig()
	if got.BaseDelay != DefaultBackoffInitial || got.MaxDelay != DefaultBackoffMax ||
		got.Multiplier != DefaultBackoffMultiplier || got.Jitter != 0 {
		t.Errorf("grpcConfig() = %+v", got)
	}
}
