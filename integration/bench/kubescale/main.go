// Command kubescale measures the Kubernetes source as a process, next to a peer: the time
// from process start to synced, and the resident memory once synced.
//
// It starts a real API server (kubeharness), fills one namespace with
// kubeharness.BenchScale (5,000 Services, 5,000 EndpointSlices with 50,000 endpoints,
// 1,000 HTTPRoutes) and leaves another empty, and builds two programs:
//   - ours: the caddymesh binary (go build ./xcaddy/caddymesh), run with a Caddyfile whose
//     kubernetes source watches services, endpointslices and httproutes in the namespace;
//     synced when /mesh/collections shows all three synced with every object;
//   - peer (./peer): client-go's and gateway-api's shared informer factories for the same
//     kinds and namespace, no transform, handlers that do nothing; synced when it prints
//     so (after cache.WaitForCacheSync).
//
// Each round runs ours and the peer one after the other, alternating which goes first, on
// the full namespace and on the empty one (the baseline: the program itself, with no
// objects). Once a process has synced and then idled for -settle, its VmRSS, VmHWM,
// RssAnon and RssFile are read from /proc/<pid>/status. It prints every sample, then
// medians and ratios ours/peer.
//
// RssFile is mostly the executable's pages that the process has touched: clean, shared
// with other processes running the same binary, and reclaimable. caddymesh's binary is
// much larger than the peer's (all of Caddy and the mesh), so RssAnon, the process's own
// memory, and the figures net of the empty-namespace baseline compare the sources best.
//
// Run it from the repository root: go run ./integration/bench/kubescale -rounds 3
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/caddymesh/caddymesh/integration/kubeharness"
)

const (
	fullNamespace  = "kubescale"
	emptyNamespace = "kubescale-empty"
)

type options struct {
	rounds int
	settle time.Duration // idle time between synced and reading the memory figures
	pause  time.Duration // idle time after populating, before the first measurement
	logs   string        // if set, a folder for each process's output
	scale  kubeharness.Scale
}

func main() {
	o := options{scale: kubeharness.BenchScale}
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; each runs ours and the peer, on the full and the empty namespace")
	flag.DurationVar(&o.settle, "settle", 5*time.Second, "idle time after synced, before reading VmRSS and VmHWM")
	flag.DurationVar(&o.pause, "pause", 15*time.Second, "idle time after populating, for the API server to settle")
	flag.StringVar(&o.logs, "logs", "", "folder to keep each process's output in (with GODEBUG=gctrace=1, its GC trace)")
	flag.IntVar(&o.scale.Services, "services", o.scale.Services, "Services, each with one EndpointSlice")
	flag.IntVar(&o.scale.EndpointsPerSlice, "endpoints", o.scale.EndpointsPerSlice, "endpoints per EndpointSlice")
	flag.IntVar(&o.scale.HTTPRoutes, "routes", o.scale.HTTPRoutes, "HTTPRoutes")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubescale:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "kubescale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.logs != "" {
		if err := os.MkdirAll(o.logs, 0o755); err != nil {
			return err
		}
	}

	ours, peer := filepath.Join(tmp, "caddymesh"), filepath.Join(tmp, "peer")
	logf("building %s and %s", "./xcaddy/caddymesh", "./integration/bench/kubescale/peer")
	if err := goBuild(ctx, root, ours, "./xcaddy/caddymesh"); err != nil {
		return err
	}
	if err := goBuild(ctx, root, peer, "./integration/bench/kubescale/peer"); err != nil {
		return err
	}

	logf("starting etcd and kube-apiserver")
	startCtx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	cluster, err := kubeharness.Start(startCtx)
	cancel()
	if err != nil {
		return err
	}
	defer cluster.Stop()

	logf("populating namespace %s: %d Services, %d EndpointSlices with %d endpoints, %d HTTPRoutes",
		fullNamespace, o.scale.Services, o.scale.Services, o.scale.Services*o.scale.EndpointsPerSlice, o.scale.HTTPRoutes)
	start := time.Now()
	if err := cluster.Populate(ctx, fullNamespace, o.scale); err != nil {
		return err
	}
	if err := cluster.Populate(ctx, emptyNamespace, kubeharness.Scale{}); err != nil {
		return err
	}
	logf("populated in %s; pausing %s", time.Since(start).Round(time.Millisecond), o.pause)
	if err := sleep(ctx, o.pause); err != nil {
		return err
	}
	kubeconfig, err := writeKubeconfig(tmp, cluster)
	if err != nil {
		return err
	}

	full := counts{o.scale.Services, o.scale.Services, o.scale.HTTPRoutes}
	sides := []side{
		{name: "ours", start: func(ctx context.Context, dir, ns string, want counts) (*process, error) {
			return startOurs(ctx, ours, kubeconfig, dir, ns, want)
		}},
		{name: "peer", start: func(ctx context.Context, dir, ns string, want counts) (*process, error) {
			return startPeer(ctx, peer, kubeconfig, dir, ns, want)
		}},
	}
	var samples []sample
	for round := range o.rounds {
		order := sides
		if round%2 == 1 {
			order = []side{sides[1], sides[0]}
		}
		for _, sc := range []struct {
			name string
			ns   string
			want counts
		}{{"full", fullNamespace, full}, {"empty", emptyNamespace, counts{}}} {
			for _, sd := range order {
				dir := filepath.Join(tmp, fmt.Sprintf("%s-%s-%d", sd.name, sc.name, round))
				if err := os.Mkdir(dir, 0o755); err != nil {
					return err
				}
				logFile := ""
				if o.logs != "" {
					logFile = filepath.Join(o.logs, filepath.Base(dir)+".log")
				}
				s, err := measure(ctx, sd, dir, sc.ns, sc.want, o.settle, logFile)
				if err != nil {
					return fmt.Errorf("round %d, %s, %s namespace: %w", round+1, sd.name, sc.name, err)
				}
				s.round, s.scenario = round+1, sc.name
				logf("round %d %-4s %-5s synced %6.3fs  VmRSS %6.1f MB  VmHWM %6.1f MB  RssAnon %6.1f MB  RssFile %6.1f MB",
					s.round, s.side, s.scenario, s.synced.Seconds(), mb(s.mem.rss), mb(s.mem.hwm), mb(s.mem.anon), mb(s.mem.file))
				samples = append(samples, s)
			}
		}
	}
	printTable(os.Stdout, samples)
	return nil
}

// side is one program under test.
type side struct {
	name string
	// start starts the program on namespace ns and returns once it has synced with want.
	start func(ctx context.Context, dir, ns string, want counts) (*process, error)
}

// counts are how many services, endpointslices and httproutes a side must hold.
type counts [3]int

type sample struct {
	round    int
	side     string
	scenario string
	synced   time.Duration // from process start
	mem      memFigures
}

// measure runs one process until synced, idles for settle, reads its memory and stops it,
// then writes its output to logFile, if set.
func measure(ctx context.Context, sd side, dir, ns string, want counts, settle time.Duration, logFile string) (sample, error) {
	p, err := sd.start(ctx, dir, ns, want)
	if err != nil {
		return sample{}, err
	}
	defer func() {
		p.stop()
		if logFile != "" {
			_ = os.WriteFile(logFile, []byte(p.out.tail(1<<30)), 0o644)
		}
	}()
	if err := sleep(ctx, settle); err != nil {
		return sample{}, err
	}
	if err := p.exited(); err != nil {
		return sample{}, err
	}
	mem, err := memory(p.cmd.Process.Pid)
	if err != nil {
		return sample{}, err
	}
	return sample{side: sd.name, synced: p.synced, mem: mem}, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module; run from the caddymesh repository")
	}
	return filepath.Dir(mod), nil
}

func goBuild(ctx context.Context, root, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
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

// mb converts KiB, as /proc reports them, to MB (10^6 bytes).
func mb(kib uint64) float64 { return float64(kib) * 1024 / 1e6 }
