// Command meshless measures the Meshless L4 data path next to its peers, on one machine:
// throughput of one stream, the rate and latency of new connections, and the memory an
// idle connection costs the agents.
//
// The paths, each a client in this process and the server process below at the far end:
//   - tls: one TLS 1.3 stream over loopback, crypto/tls to crypto/tls (the server is a
//     separate process), with the cipher suite the two negotiate (AES-GCM on AES-NI
//     hardware). The ceiling of one encrypted hop.
//   - unix: the client dials the server's Unix socket directly. The same-node baseline.
//   - haproxy: the same two-hop mTLS chain built from two HAProxy processes. Instance A
//     listens on a Unix socket and forwards, from 127.0.0.2, over TLS 1.3 with a client
//     certificate to instance B on 127.0.0.3, which verifies it and forwards to the
//     server's Unix socket. mode tcp, nbthread 1 each: one process with one thread, as one
//     node agent is one process (on these 2 cores every process shares them anyway).
//   - meshless: the client dials agent A's Unix socket (-meshless-socket), sends the
//     version 1 handshake for -meshless-service, reads the reply, and from then on is the
//     same client as the others. Agent A tunnels to agent B (HTTP/2 CONNECT over mTLS),
//     which dials the server's socket at -meshless-server-socket, created by this program.
//   - meshless-local: as meshless, for -meshless-local-service, a service on the same
//     node: agent A dials the server socket itself, without the tunnel.
//
// The agents are not started here: integration/bench/meshless.sh starts them and passes
// the flags. Without -meshless-socket and -meshless-service the meshless rows are skipped
// with a note, so the program runs without them.
//
// The server process (this binary, re-executed with a hidden subcommand) reads one mode
// byte per connection: 'e' echoes everything; 'd' discards everything and, when the
// client half-closes, answers the 8-byte big-endian count of bytes it received after the
// mode byte, then closes.
//
// Measurements, each run for every path in every round (paths interleaved, their order
// rotated each round, because two shared cores are noisy), reported as median, min and
// max over rounds with ratios to the peer:
//   - throughput: one stream of -bytes, client to server ('d'), half-close, wait for the
//     count and check it; GB/s (10^9 bytes per second), from the first byte written to the
//     count read.
//   - connrate: for -duration at each concurrency in -concurrency, workers loop: connect
//     (and handshake), write 'e' and one byte, read the echoed byte, close. Connections
//     per second, and the latency from the start of connect to the echoed byte (p50, p99).
//   - memory: open -conns connections, each after one echo round trip, read VmRSS of
//     both agents (-meshless-pids; for haproxy its two processes, started fresh each
//     round), and report (ΔRSS_A + ΔRSS_B) / conns in KiB. It runs first, while the agents
//     are as fresh as the script left them. HAProxy A holds two descriptors per connection:
//     where RLIMIT_NOFILE cannot be raised past 20,000 (this sandbox), haproxy opens
//     fewer connections than -conns, and a note says so.
//
// Run it through integration/bench/meshless.sh, or from the repository root:
//
//	go run ./integration/bench/meshless -rounds 1 -bytes 256MiB -duration 3s -conns 2000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Measurement names, in the order they run: memory first, while the agents are fresh.
const (
	measureMemory     = "memory"
	measureThroughput = "throughput"
	measureConnrate   = "connrate"
)

var allMeasures = []string{measureMemory, measureThroughput, measureConnrate}

// Path names.
const (
	pathTLS           = "tls"
	pathUnix          = "unix"
	pathHAProxy       = "haproxy"
	pathMeshless      = "meshless"
	pathMeshlessLocal = "meshless-local"
)

var allPaths = []string{pathTLS, pathUnix, pathHAProxy, pathMeshless, pathMeshlessLocal}

type options struct {
	measures    stringList
	paths       stringList
	rounds      int
	bytes       byteSize
	duration    time.Duration
	concurrency intList
	conns       int
	settle      time.Duration
	jsonOut     string
	keep        bool

	haproxy        string // binary
	haproxyCiphers string // TLS 1.3 cipher suites for both HAProxy hops; empty: OpenSSL's default
	haproxyBufsize int    // tune.bufsize; 0: HAProxy's default

	meshless meshlessOptions
}

// meshlessOptions are what the agents' side of the run needs; the script fills them in.
type meshlessOptions struct {
	socket        string   // agent A's client socket
	service       string   // a service behind agent B, on the other node
	localService  string   // a service behind agent A itself
	serverSockets []string // where the server listens for the agents
	pids          []int    // agent A, agent B
	pipeline      bool     // send the first bytes right behind the request
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == serveCommand {
		if err := serve(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "meshless serve:", err)
			os.Exit(1)
		}
		return
	}

	o := options{
		measures:       stringList(allMeasures),
		paths:          stringList(allPaths),
		rounds:         3,
		bytes:          4 << 30,
		duration:       10 * time.Second,
		concurrency:    intList{1, 64},
		conns:          10000,
		settle:         2 * time.Second,
		haproxy:        "haproxy",
		haproxyCiphers: "TLS_AES_128_GCM_SHA256",
	}
	flag.Var(&o.measures, "measure", "measurements to run, comma-separated: memory, throughput, connrate")
	flag.Var(&o.paths, "paths", "paths to measure, comma-separated: tls, unix, haproxy, meshless, meshless-local")
	flag.IntVar(&o.rounds, "rounds", o.rounds, "rounds; each measures every path once, in rotated order")
	flag.Var(&o.bytes, "bytes", "throughput: bytes in the stream (units: KiB, MiB, GiB, KB, MB, GB)")
	flag.DurationVar(&o.duration, "duration", o.duration, "connrate: how long each path runs at each concurrency")
	flag.Var(&o.concurrency, "concurrency", "connrate: concurrent workers, comma-separated")
	flag.IntVar(&o.conns, "conns", o.conns, "memory: idle connections to open")
	flag.DurationVar(&o.settle, "settle", o.settle, "memory: idle time after opening, before reading VmRSS")
	flag.StringVar(&o.jsonOut, "json", "", "file to write every sample to, as JSON")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder (configs, certificates, logs) and print its path")
	flag.StringVar(&o.haproxy, "haproxy", o.haproxy, "HAProxy binary; the haproxy rows are skipped if it is not found")
	flag.StringVar(&o.haproxyCiphers, "haproxy-ciphersuites", o.haproxyCiphers,
		"TLS 1.3 cipher suites of the haproxy hops, by default the one Go picks on AES-NI hardware; empty for OpenSSL's order, AES-256-GCM first")
	flag.IntVar(&o.haproxyBufsize, "haproxy-bufsize", 0, "tune.bufsize of both HAProxy instances; 0 keeps HAProxy's default, 16384")
	flag.StringVar(&o.meshless.socket, "meshless-socket", "", "agent A's client Unix socket; empty skips the meshless rows")
	flag.StringVar(&o.meshless.service, "meshless-service", "", "service ID, <service>.<meshlet>.<namespace>, served through agent B")
	flag.StringVar(&o.meshless.localService, "meshless-local-service", "", "service ID served by agent A itself (same node); empty skips meshless-local")
	flag.Var((*stringList)(&o.meshless.serverSockets), "meshless-server-socket",
		"Unix socket(s) the server listens on for the agents, comma-separated (created here)")
	flag.Var((*intList)(&o.meshless.pids), "meshless-pids", "memory: pids of agent A and agent B, comma-separated")
	flag.BoolVar(&o.meshless.pipeline, "meshless-pipeline", false,
		"send the first bytes right behind the handshake request instead of after the reply")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s [flags]\n\nThe Meshless data path next to TLS, a Unix socket and HAProxy. Flags:\n\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "meshless: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "meshless:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "meshless:", err)
		os.Exit(1)
	}
}

func (o *options) validate() error {
	if err := o.measures.oneOf("-measure", allMeasures); err != nil {
		return err
	}
	if err := o.paths.oneOf("-paths", allPaths); err != nil {
		return err
	}
	switch {
	case o.rounds < 1:
		return fmt.Errorf("-rounds must be at least 1")
	case o.bytes < 1:
		return fmt.Errorf("-bytes must be at least 1")
	case o.duration <= 0:
		return fmt.Errorf("-duration must be positive")
	case o.conns < 1:
		return fmt.Errorf("-conns must be at least 1")
	case len(o.concurrency) == 0:
		return fmt.Errorf("-concurrency needs at least one value")
	}
	for _, c := range o.concurrency {
		if c < 1 {
			return fmt.Errorf("-concurrency: %d is not a positive number of workers", c)
		}
	}
	if (o.meshless.socket == "") != (o.meshless.service == "") {
		return fmt.Errorf("-meshless-socket and -meshless-service go together")
	}
	if o.meshless.localService != "" && o.meshless.socket == "" {
		return fmt.Errorf("-meshless-local-service needs -meshless-socket")
	}
	for _, p := range o.meshless.serverSockets {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("-meshless-server-socket %q: want an absolute path", p)
		}
	}
	return nil
}
