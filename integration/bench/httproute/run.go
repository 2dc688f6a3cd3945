package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// bench is one run's shared parts.
type bench struct {
	o           options
	dir         string
	nginx       string // the nginx binary, or "" without nginx
	backendPort int
	backend     *process
	rep         *report
}

func run(ctx context.Context, o options) error {
	wrk, err := exec.LookPath(o.wrk)
	if err != nil {
		return fmt.Errorf("wrk not found (integration/bench/httproute.sh installs it): %w", err)
	}
	o.wrk = wrk
	dir, err := os.MkdirTemp("", "httproute-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		defer logf("kept the work folder %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &bench{o: o, dir: dir, rep: newReport(o)}
	if bin, err := exec.LookPath(o.nginx); err == nil {
		b.nginx = bin
		b.rep.Machine.Nginx = versionLine(bin, "-v")
	} else if o.peers.has(peerNginx) {
		b.rep.note(fmt.Sprintf("nginx: skipped, %s not found (integration/bench/httproute.sh installs it)", o.nginx))
	}
	// "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer"
	b.rep.Machine.Wrk, _, _ = strings.Cut(versionLine(wrk, "-v"), " [")

	if err := b.startBackend(ctx); err != nil {
		return err
	}
	defer b.backend.stop()
	logf("backend (%s) on 127.0.0.1:%d; work folder %s", b.rep.Backend, b.backendPort, dir)

	b.rep.LoadStart = loadAverage()
	var runErr error
	for _, n := range o.routes {
		if runErr = b.measureRoutes(ctx, n); runErr != nil {
			runErr = fmt.Errorf("%d routes: %w", n, runErr)
			break
		}
	}
	b.rep.LoadEnd = loadAverage()
	if runErr != nil {
		if len(b.rep.Samples) == 0 {
			return runErr
		}
		b.rep.note("INCOMPLETE, the run stopped: " + runErr.Error())
	}

	b.rep.print(os.Stdout)
	if o.jsonOut != "" {
		if err := b.rep.writeJSON(o.jsonOut); err != nil {
			return err
		}
		logf("wrote %s", o.jsonOut)
	}
	if runErr != nil {
		return runErr
	}
	if n := b.rep.errors(); n > 0 {
		return fmt.Errorf("%d request(s) failed under load; see the errors column", n)
	}
	return nil
}

// startBackend starts the backend: nginx with one worker, else this binary's Go server.
func (b *bench) startBackend(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	dir := filepath.Join(b.dir, "backend")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var spec peerSpec
	if b.nginx != "" {
		if spec, err = writeNginxBackend(dir, b.nginx, port); err != nil {
			return err
		}
		b.rep.Backend = "nginx, 1 worker, return 200 \"ok\""
	} else {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		spec = peerSpec{name: "backend", bin: exe, args: []string{backendCommand, "-listen", "127.0.0.1:" + strconv.Itoa(port)}}
		b.rep.Backend = "Go net/http server answering \"ok\""
	}
	p, err := startProcess("backend", filepath.Join(dir, "out.log"), spec.env, spec.bin, spec.args...)
	if err != nil {
		return err
	}
	b.backend, b.backendPort = p, port
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	for start := time.Now(); ; {
		if status, body, err := fetch(ctx, client, "http://127.0.0.1:"+strconv.Itoa(port)+"/"); err == nil && status == 200 && body == "ok" {
			return nil
		}
		if err := p.exited(); err != nil {
			return err
		}
		if time.Since(start) > 10*time.Second {
			p.stop()
			return fmt.Errorf("the backend did not answer within 10s:\n%s", indent(p.out.tail(2000)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// running is a started peer.
type running struct {
	name  string
	p     *process
	base  string
	admin string // Caddy's admin endpoint, or ""
}

// measureRoutes starts every peer with n routes, checks them, and runs the rounds.
func (b *bench) measureRoutes(ctx context.Context, n int) error {
	var peers []running
	defer func() {
		for _, r := range peers {
			r.p.stop()
		}
	}()
	for _, name := range allPeers {
		if !b.o.peers.has(name) || (name == peerNginx && b.nginx == "") {
			continue
		}
		r, err := b.startPeer(ctx, name, n)
		if err != nil {
			return err
		}
		peers = append(peers, r)
	}
	for round := range b.o.rounds {
		for k := range peers {
			r := peers[(k+round)%len(peers)]
			if b.o.warmup >= time.Second {
				if _, err := runWrk(ctx, b.o.wrk, r.base+target(n), b.o.warmup, b.o.connections, b.o.threads); err != nil {
					return fmt.Errorf("%s warm-up: %w", r.name, err)
				}
			}
			var profiled chan error
			if round == 0 && r.admin != "" && b.o.cpuprofile != "" {
				profiled = make(chan error, 1)
				go func() { profiled <- b.profile(ctx, r, n) }()
			}
			cpu0, cpuErr := groupCPU(r.p.pid())
			res, err := runWrk(ctx, b.o.wrk, r.base+target(n), b.o.duration, b.o.connections, b.o.threads)
			cpu1, cpuErr1 := groupCPU(r.p.pid())
			if cpuErr == nil && cpuErr1 == nil {
				res.CPUSeconds = (cpu1 - cpu0).Seconds()
			} else {
				res.CPUSeconds = -1
			}
			if profiled != nil {
				if perr := <-profiled; perr != nil {
					b.rep.note(fmt.Sprintf("%s, %d routes: no CPU profile: %v", r.name, n, perr))
				}
			}
			if err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			if err := r.p.exited(); err != nil {
				return err
			}
			b.rep.Samples = append(b.rep.Samples, sample{Routes: n, Round: round + 1, Position: k + 1, Peer: r.name, wrkResult: res})
			logf("%6d routes, round %d: %-11s %8.0f req/s, p50 %6.0f µs, p99 %7.0f µs, %5.0f µs CPU/request, errors %d",
				n, round+1, r.name, res.PerSecond, res.P50us, res.P99us, res.cpuPerRequest(), res.errors())
		}
	}
	return nil
}

// startPeer writes a peer's config for n routes, starts it, and waits until it routes.
func (b *bench) startPeer(ctx context.Context, name string, n int) (running, error) {
	dir := filepath.Join(b.dir, strconv.Itoa(n), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return running{}, err
	}
	port, err := freePort()
	if err != nil {
		return running{}, err
	}
	admin := ""
	if b.o.cpuprofile != "" && name != peerNginx {
		adminPort, err := freePort()
		if err != nil {
			return running{}, err
		}
		admin = "127.0.0.1:" + strconv.Itoa(adminPort)
	}
	var spec peerSpec
	switch name {
	case peerMesh:
		spec, err = writeMeshPeer(dir, b.o.caddymesh, n, port, b.backendPort, admin)
	case peerCaddy:
		spec, err = writeCaddyPeer(dir, b.o.caddymesh, n, port, b.backendPort, admin)
	default:
		spec, err = writeNginxPeer(dir, b.nginx, b.o.nginxWorkers, n, port, b.backendPort, b.o.connections)
	}
	if err != nil {
		return running{}, err
	}
	p, err := startProcess(name, filepath.Join(dir, "out.log"), spec.env, spec.bin, spec.args...)
	if err != nil {
		return running{}, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	ready, err := waitServing(ctx, p, base, n, b.o.startTimeout)
	if err == nil {
		err = checkPeer(ctx, base, n)
	}
	if err != nil {
		p.stop()
		return running{}, fmt.Errorf("%s: %w", name, err)
	}
	b.rep.Ready = append(b.rep.Ready, readySample{Routes: n, Peer: name, Seconds: ready.Seconds()})
	logf("%6d routes: %s serves after %.1f s", n, name, ready.Seconds())
	return running{name: name, p: p, base: base, admin: spec.admin}, nil
}

// profile takes a CPU profile of a Caddy peer from its admin endpoint, over all but the
// last second of a measurement, into -cpuprofile.
func (b *bench) profile(ctx context.Context, r running, n int) error {
	secs := max(1, int(b.o.duration/time.Second)-1)
	client := &http.Client{Timeout: time.Duration(secs+30) * time.Second}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", r.admin, secs), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /debug/pprof/profile: %s", resp.Status)
	}
	if err := os.MkdirAll(b.o.cpuprofile, 0o755); err != nil {
		return err
	}
	name := filepath.Join(b.o.cpuprofile, fmt.Sprintf("%s-%d.pprof", r.name, n))
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	logf("wrote %s", name)
	return f.Close()
}

// versionLine is the first line a binary prints for its version flag.
func versionLine(bin, flag string) string {
	out, err := exec.Command(bin, flag).CombinedOutput()
	if err != nil && len(out) == 0 {
		return ""
	}
	for line := range strings.Lines(string(out)) {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return string(b)
	}
	return f[0] + " " + f[1] + " " + f[2]
}
