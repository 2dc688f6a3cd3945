package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// bench is one run's shared parts.
type bench struct {
	o       options
	nofile  uint64 // RLIMIT_NOFILE, which the children inherit
	dir     string // work folder
	pki     *pki
	server  *process
	sock    string // the server's own Unix socket: the unix path and haproxy B dial it
	tlsAddr string
	haproxy haproxyConfig // bin is empty without HAProxy
	shared  *haproxyPair  // for throughput and connrate; memory starts fresh pairs
	rep     *report
}

func run(ctx context.Context, o options) error {
	// This process holds -conns client connections, the server (a child) as many again.
	nofile, err := raiseNoFile(uint64(2*o.conns + 1000))
	if err != nil {
		return fmt.Errorf("raising RLIMIT_NOFILE: %w", err)
	}
	if need := uint64(o.conns + 100); nofile < need {
		return fmt.Errorf("RLIMIT_NOFILE is %d, -conns %d needs %d", nofile, o.conns, need)
	}
	dir, err := os.MkdirTemp("", "meshless-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		defer logf("kept the work folder %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	b := &bench{o: o, nofile: nofile, dir: dir, sock: filepath.Join(dir, "server.sock"), rep: newReport(o)}
	if b.pki, err = newPKI(dir); err != nil {
		return err
	}
	if err := b.startServer(ctx); err != nil {
		return err
	}
	defer b.server.stop()
	defer func() {
		if b.shared != nil {
			b.shared.stop()
		}
	}()
	b.findHAProxy()

	suite, err := tlsSuite(ctx, dialTLS(b.tlsAddr, b.pki.clientTLS()))
	if err != nil {
		return fmt.Errorf("probing the tls path: %w", err)
	}
	b.rep.TLSSuite = suite
	logf("tls path negotiates %s; RLIMIT_NOFILE %d; work folder %s", suite, nofile, dir)

	var runErr error
	for _, m := range allMeasures {
		if !o.measures.has(m) {
			continue
		}
		if runErr = b.measure(ctx, m); runErr != nil {
			runErr = fmt.Errorf("%s: %w", m, runErr)
			break
		}
		if runErr = b.server.exited(); runErr != nil {
			break
		}
		if runErr = ctx.Err(); runErr != nil {
			break
		}
	}
	if runErr != nil {
		if !b.rep.hasSamples() {
			return runErr
		}
		b.rep.note("", "INCOMPLETE, the run stopped: "+runErr.Error())
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
		return fmt.Errorf("%d sample(s) failed; see the notes under the tables", n)
	}
	return nil
}

// startServer starts the server process on its own socket and the agents' sockets.
func (b *bench) startServer(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	sockets := append([]string{b.sock}, b.o.meshless.serverSockets...)
	lines := make(chan string, 1)
	b.server, err = startProcess("server", filepath.Join(b.dir, "server.log"), lines, exe, serveCommand,
		"-unix", strings.Join(sockets, ","),
		"-tls-cert", b.pki.serverCert, "-tls-key", b.pki.serverKey, "-tls-ca", b.pki.caFile)
	if err != nil {
		return err
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line := <-lines:
			if addr, ok := strings.CutPrefix(line, "ready "); ok {
				b.tlsAddr = addr
				return nil
			}
		case <-b.server.done:
			return b.server.exited()
		case <-timeout:
			b.server.stop()
			return fmt.Errorf("the server did not start in 10s:\n%s", indent(b.server.out.tail(2000)))
		case <-ctx.Done():
			b.server.stop()
			return ctx.Err()
		}
	}
}

// findHAProxy looks HAProxy up; without it, the haproxy rows are skipped.
func (b *bench) findHAProxy() {
	bin, err := exec.LookPath(b.o.haproxy)
	if err != nil {
		b.rep.note("", fmt.Sprintf("haproxy: skipped, %s not found (integration/bench/meshless.sh installs it)", b.o.haproxy))
		return
	}
	if b.rep.Machine.HAProxy, err = haproxyVersion(bin); err != nil {
		b.rep.note("", fmt.Sprintf("haproxy: skipped, %s -v: %v", bin, err))
		return
	}
	b.haproxy = newHAProxyConfig(bin, b.pki, b.sock, b.o.conns, b.nofile, b.o.haproxyCiphers, b.o.haproxyBufsize)
	bufsize := "16384 (default)"
	if b.haproxy.bufsize > 0 {
		bufsize = fmt.Sprint(b.haproxy.bufsize)
	}
	b.rep.HAProxyLimits = fmt.Sprintf("maxconn %d, ulimit-n %d, tune.bufsize %s", b.haproxy.maxconn, b.haproxy.ulimit, bufsize)
}

func (b *bench) measure(ctx context.Context, m string) error {
	switch m {
	case measureMemory:
		targets := b.memoryTargets()
		if len(targets) > 0 {
			b.rep.Memory = runMemory(ctx, targets, b.o)
		}
	case measureThroughput:
		paths, err := b.paths(ctx, m, []string{pathTLS, pathUnix, pathHAProxy, pathMeshless, pathMeshlessLocal})
		if err != nil {
			return err
		}
		b.rep.Throughput = runThroughput(ctx, paths, b.o)
	case measureConnrate:
		paths, err := b.paths(ctx, m, []string{pathUnix, pathHAProxy, pathMeshless})
		if err != nil {
			return err
		}
		b.rep.Connrate = runConnrate(ctx, paths, b.o)
	}
	return nil
}

// paths returns those of names that were asked for and can run, and notes why the others
// are skipped.
func (b *bench) paths(ctx context.Context, measurement string, names []string) ([]path, error) {
	var paths []path
	for _, name := range names {
		if !b.o.paths.has(name) {
			continue
		}
		switch name {
		case pathTLS:
			paths = append(paths, path{name, dialTLS(b.tlsAddr, b.pki.clientTLS())})
		case pathUnix:
			paths = append(paths, path{name, dialUnix(b.sock)})
		case pathHAProxy:
			if b.haproxy.bin == "" {
				continue // noted once
			}
			if b.shared == nil {
				p, err := startHAProxyPair(ctx, b.haproxy, filepath.Join(b.dir, "haproxy"))
				if err != nil {
					return nil, err
				}
				b.shared = p
			}
			if err := b.shared.exited(); err != nil {
				return nil, err
			}
			paths = append(paths, path{name, dialUnix(b.shared.socket)})
		case pathMeshless, pathMeshlessLocal:
			service := b.o.meshless.service
			if name == pathMeshlessLocal {
				service = b.o.meshless.localService
			}
			dial, reason, err := b.meshlessDial(service, name)
			if err != nil {
				return nil, err
			}
			if dial == nil {
				b.rep.note(measurement, name+": skipped, "+reason)
				continue
			}
			paths = append(paths, path{name, dial})
		}
	}
	return paths, nil
}

// meshlessDial returns the dialer for service through agent A, or why there is none.
func (b *bench) meshlessDial(service, name string) (dialFunc, string, error) {
	m := b.o.meshless
	switch {
	case m.socket == "":
		return nil, "-meshless-socket and -meshless-service not set (no agents)", nil
	case service == "" && name == pathMeshlessLocal:
		return nil, "-meshless-local-service not set", nil
	}
	id, err := protocol.ParseServiceID(service)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	return dialMeshless(m.socket, id, m.pipeline), "", nil
}

// memoryTargets are haproxy, a fresh pair each round so that each starts from the same
// memory, and meshless, the agents the script started, with the pids it passes.
func (b *bench) memoryTargets() []memoryTarget {
	var targets []memoryTarget
	if b.o.paths.has(pathHAProxy) && b.haproxy.bin != "" {
		conns := min(b.o.conns, b.haproxy.maxconn-100)
		if conns < b.o.conns {
			b.rep.note(measureMemory, fmt.Sprintf("haproxy: %d connections, not %d: HAProxy A holds two descriptors per connection, "+
				"and RLIMIT_NOFILE, which it cannot raise here, is %d", conns, b.o.conns, b.nofile))
		}
		targets = append(targets, memoryTarget{name: pathHAProxy, conns: conns,
			setup: func(ctx context.Context, round int) (dialFunc, []int, func(), error) {
				p, err := startHAProxyPair(ctx, b.haproxy, filepath.Join(b.dir, fmt.Sprintf("haproxy-memory-%d", round+1)))
				if err != nil {
					return nil, nil, nil, err
				}
				return dialUnix(p.socket), p.pids(), p.stop, nil
			}})
	}
	if !b.o.paths.has(pathMeshless) {
		return targets
	}
	dial, reason, err := b.meshlessDial(b.o.meshless.service, pathMeshless)
	switch {
	case err != nil:
		reason = err.Error()
	case dial != nil && len(b.o.meshless.pids) != 2:
		dial, reason = nil, fmt.Sprintf("-meshless-pids must name agent A and agent B, got %q", intList(b.o.meshless.pids))
	}
	if dial == nil {
		b.rep.note(measureMemory, pathMeshless+": skipped, "+reason)
		return targets
	}
	targets = append(targets, memoryTarget{name: pathMeshless, conns: b.o.conns,
		setup: func(context.Context, int) (dialFunc, []int, func(), error) {
			return dial, b.o.meshless.pids, func() {}, nil
		}})
	return targets
}

// rotate returns s rotated left by n: round r starts with the r-th path.
func rotate[T any](s []T, n int) []T {
	if len(s) == 0 {
		return s
	}
	n %= len(s)
	return append(append([]T{}, s[n:]...), s[:n]...)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
