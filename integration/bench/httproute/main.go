// Command httproute measures the HTTP router mesh_router next to Caddy's own static routes
// and nginx, as processes on one machine: requests per second through each proxy to one
// backend, with 10, 1,000 and 10,000 path routes, every request to the last route.
//
// The peers, all proxying to the same backend over keep-alive connections:
//   - mesh_router: caddymesh (-caddymesh) running Caddyfile (next to this file, embedded): a
//     site on 127.0.0.1 whose only handler is `mesh_router { gateway bench/gw 80 }`, and the
//     file source over generated manifests: GatewayClass caddymesh (controllerName
//     caddymesh.io/gateway), Gateway bench/gw with an HTTP listener on port 80, N
//     HTTPRoutes route-<i>, each with one rule (PathPrefix /svc-<i>/, to the Service
//     backend), and the Service backend with one EndpointSlice to the backend. One
//     HTTPRoute per path, because the Gateway API allows 16 rules per route.
//   - caddy: the same binary (it is a Caddy) with a generated JSON config of N routes in
//     order, route i matching the path /svc-<i>/* and proxying (reverse_proxy) to the
//     backend, then a 404 for the rest. Caddy tries its routes in order.
//   - nginx: N prefix locations /svc-<i>/, each proxy_pass to an upstream with
//     keep-alive connections to the backend, and a 404 for the rest; worker_processes
//     -nginx-workers. A reference: nginx finds a prefix location in a tree.
//
// The backend is nginx too (one worker, `return 200 "ok"`), or, without nginx, a small Go
// server (this binary, re-executed).
//
// For each route count, the three peers are started with the same routes, and each
// answers a request to the last route with the backend's "ok" and a request to no route
// without it before anything is measured. Then, in every round, each peer in turn (the
// order rotated each round, because two shared cores are noisy) gets -warmup of load from
// wrk, then -duration measured: requests/s, and errors (non-2xx answers and socket
// errors, which must be 0). The tables report per route count the median over rounds, min
// and max, the ratios of the medians, and every round side by side.
//
// Run it through integration/bench/httproute.sh, which builds caddymesh and installs nginx
// and wrk if missing, or from the repository root. With -cpuprofile, the Caddy peers run
// with their admin endpoint on (on 127.0.0.1) and a CPU profile of each is taken over its
// round 1 measurement, for `go tool pprof -top <caddymesh binary> <profile>`.
//
//	go build -o /tmp/caddymesh ./xcaddy/caddymesh
//	go run ./integration/bench/httproute -caddymesh /tmp/caddymesh -rounds 1 -duration 2s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Peer names, in the order of the tables.
const (
	peerMesh  = "mesh_router"
	peerCaddy = "caddy"
	peerNginx = "nginx"
)

var allPeers = []string{peerMesh, peerCaddy, peerNginx}

type options struct {
	routes       intList
	peers        stringList
	rounds       int
	duration     time.Duration
	warmup       time.Duration
	connections  int
	threads      int
	nginxWorkers string
	startTimeout time.Duration
	caddymesh    string
	nginx        string
	wrk          string
	jsonOut      string
	cpuprofile   string
	keep         bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == backendCommand {
		if err := serveBackend(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "httproute backend:", err)
			os.Exit(1)
		}
		return
	}

	o := options{
		routes:       intList{10, 1000, 10000},
		peers:        stringList(allPeers),
		rounds:       3,
		duration:     5 * time.Second,
		warmup:       2 * time.Second,
		connections:  32,
		threads:      1,
		nginxWorkers: "auto",
		startTimeout: 3 * time.Minute,
		nginx:        "nginx",
		wrk:          "wrk",
	}
	flag.Var(&o.routes, "routes", "route counts, comma-separated")
	flag.Var(&o.peers, "peers", "peers to measure, comma-separated: mesh_router, caddy, nginx")
	flag.IntVar(&o.rounds, "rounds", o.rounds, "rounds; each measures every peer once, in rotated order")
	flag.DurationVar(&o.duration, "duration", o.duration, "measured load per peer and round")
	flag.DurationVar(&o.warmup, "warmup", o.warmup, "load before each measurement, not counted")
	flag.IntVar(&o.connections, "connections", o.connections, "wrk: keep-alive connections")
	flag.IntVar(&o.threads, "threads", o.threads, "wrk: threads")
	flag.StringVar(&o.nginxWorkers, "nginx-workers", o.nginxWorkers, "worker_processes of the nginx peer (the backend has 1)")
	flag.DurationVar(&o.startTimeout, "start-timeout", o.startTimeout, "how long a peer may take to serve its routes")
	flag.StringVar(&o.caddymesh, "caddymesh", "", "the caddymesh binary (go build ./xcaddy/caddymesh); required for mesh_router and caddy")
	flag.StringVar(&o.nginx, "nginx", o.nginx, "nginx binary; without it the nginx rows are skipped and the backend is a Go server")
	flag.StringVar(&o.wrk, "wrk", o.wrk, "wrk binary (the load generator)")
	flag.StringVar(&o.jsonOut, "json", "", "file to write every sample to, as JSON")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "",
		"folder to write CPU profiles of the mesh_router and caddy peers to, taken from their admin endpoints during round 1 (<peer>-<routes>.pprof)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder (configs, manifests, logs) and print its path")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s [flags]\n\nmesh_router next to Caddy's static routes and nginx. Flags:\n\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "httproute: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "httproute:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "httproute:", err)
		os.Exit(1)
	}
}

func (o *options) validate() error {
	if err := o.peers.oneOf("-peers", allPeers); err != nil {
		return err
	}
	switch {
	case o.rounds < 1:
		return fmt.Errorf("-rounds must be at least 1")
	case o.duration < time.Second:
		return fmt.Errorf("-duration must be at least 1s (wrk counts whole seconds)")
	case o.warmup < 0:
		return fmt.Errorf("-warmup must not be negative")
	case o.connections < 1 || o.threads < 1 || o.threads > o.connections:
		return fmt.Errorf("-connections and -threads must be positive, with no more threads than connections")
	case len(o.routes) == 0:
		return fmt.Errorf("-routes needs at least one count")
	case (o.peers.has(peerMesh) || o.peers.has(peerCaddy)) && o.caddymesh == "":
		return fmt.Errorf("-caddymesh is required for mesh_router and caddy")
	}
	for _, n := range o.routes {
		if n < 1 {
			return fmt.Errorf("-routes: %d is not a positive count", n)
		}
	}
	return nil
}

// stringList is a comma-separated flag.
type stringList []string

func (l *stringList) Set(s string) error {
	*l = nil
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

func (l stringList) String() string { return strings.Join(l, ",") }

func (l stringList) has(s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func (l stringList) oneOf(flagName string, known []string) error {
	for _, v := range l {
		if !stringList(known).has(v) {
			return fmt.Errorf("%s: unknown %q (want some of %s)", flagName, v, strings.Join(known, ", "))
		}
	}
	return nil
}

// intList is a comma-separated flag of integers; "10k" is 10,000.
type intList []int

func (l *intList) Set(s string) error {
	*l = nil
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		mult := 1
		if rest, ok := strings.CutSuffix(strings.ToLower(v), "k"); ok {
			v, mult = rest, 1000
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		*l = append(*l, n*mult)
	}
	return nil
}

func (l intList) String() string {
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
