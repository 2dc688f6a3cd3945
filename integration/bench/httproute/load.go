package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests  int64   `json:"requests"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	Non2xx    int64   `json:"non_2xx"`
	SocketErr int64   `json:"socket_errors"`
	// CPUSeconds is the CPU time the peer's processes used during the run; -1 when
	// unknown.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// cpuPerRequest is the peer's CPU time per request, in µs; NaN when unknown.
func (r wrkResult) cpuPerRequest() float64 {
	if r.Requests == 0 || r.CPUSeconds < 0 {
		return math.NaN()
	}
	return r.CPUSeconds * 1e6 / float64(r.Requests)
}

func (r wrkResult) errors() int64 { return r.Non2xx + r.SocketErr }

var (
	wrkTotal   = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m)\b`)
	wrkRate    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSocket  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkPercent = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$`)
)

// runWrk loads url for d with the given connections and threads.
func runWrk(ctx context.Context, bin, url string, d time.Duration, connections, threads int) (wrkResult, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, bin, "--latency", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(connections),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "5s", url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w\n%s", err, indent(string(out)))
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("%w\n%s", err, indent(string(out)))
	}
	return r, nil
}

func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkTotal.FindStringSubmatch(out)
	rate := wrkRate.FindStringSubmatch(out)
	if m == nil || rate == nil {
		return r, fmt.Errorf("wrk's output has no request count")
	}
	r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	r.Seconds = toSeconds(m[2], m[3])
	r.PerSecond, _ = strconv.ParseFloat(rate[1], 64)
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.SocketErr += n
		}
	}
	for _, m := range wrkPercent.FindAllStringSubmatch(out, -1) {
		us := toSeconds(m[2], m[3]) * 1e6
		if m[1] == "50" {
			r.P50us = us
		} else {
			r.P99us = us
		}
	}
	return r, nil
}

func toSeconds(v, unit string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	switch unit {
	case "us":
		return f / 1e6
	case "ms":
		return f / 1e3
	case "m":
		return f * 60
	}
	return f
}

// checkPeer makes sure the peer routes: the last route is answered by the backend ("ok"),
// a path no route matches is not.
func checkPeer(ctx context.Context, base string, routes int) error {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	status, body, err := fetch(ctx, client, base+target(routes))
	if err != nil {
		return err
	}
	if status != http.StatusOK || body != "ok" {
		return fmt.Errorf("GET %s: %d %q, want 200 \"ok\" from the backend", target(routes), status, body)
	}
	status, body, err = fetch(ctx, client, base+unrouted)
	if err != nil {
		return err
	}
	if body == "ok" {
		return fmt.Errorf("GET %s (no route): %d %q, served by the backend", unrouted, status, body)
	}
	return nil
}

func fetch(ctx context.Context, client *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

// waitServing polls until the peer answers the last route with "ok", the process exits,
// or timeout passes.
func waitServing(ctx context.Context, p *process, base string, routes int, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	for {
		if status, body, err := fetch(ctx, client, base+target(routes)); err == nil && status == http.StatusOK && body == "ok" {
			return time.Since(start), nil
		}
		if err := p.exited(); err != nil {
			return 0, err
		}
		if time.Since(start) > timeout {
			return 0, fmt.Errorf("%s did not serve %s within %s; the end of its log:\n%s", p.name, target(routes), timeout, indent(p.out.tail(2000)))
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
