package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report holds every sample and what the tables need besides.
type report struct {
	Date          string              `json:"date"`
	Args          []string            `json:"args"`
	Rounds        int                 `json:"rounds"`
	Machine       machine             `json:"machine"`
	TLSSuite      string              `json:"tls_suite"`       // what the tls path negotiates
	HAProxyTLS    string              `json:"haproxy_tls"`     // the haproxy hops' TLS settings
	HAProxyLimits string              `json:"haproxy_limits"`  // maxconn and ulimit-n
	Notes         map[string][]string `json:"notes,omitempty"` // by measurement; "" for all
	Throughput    []throughputSample  `json:"throughput,omitempty"`
	Connrate      []connrateSample    `json:"connrate,omitempty"`
	Memory        []memorySample      `json:"memory,omitempty"`
	options       options
}

type machine struct {
	NProc   int    `json:"nproc"`
	CPU     string `json:"cpu"`
	Kernel  string `json:"kernel"`
	Go      string `json:"go"`
	HAProxy string `json:"haproxy,omitempty"` // first line of haproxy -v
}

func newReport(o options) *report {
	r := &report{
		Date:    time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Args:    os.Args[1:],
		Rounds:  o.rounds,
		Notes:   map[string][]string{},
		options: o,
		Machine: machine{NProc: runtime.NumCPU(), CPU: cpuModel(), Kernel: kernel(), Go: runtime.Version()},
	}
	r.HAProxyTLS = "TLS 1.3, OpenSSL's default cipher suites"
	if o.haproxyCiphers != "" {
		r.HAProxyTLS = "TLS 1.3, " + o.haproxyCiphers
	}
	return r
}

func (r *report) note(measurement, s string) {
	r.Notes[measurement] = append(r.Notes[measurement], s)
}

func (r *report) hasSamples() bool {
	return len(r.Throughput)+len(r.Connrate)+len(r.Memory) > 0
}

// errors counts the failed samples.
func (r *report) errors() int {
	n := 0
	for _, s := range r.Throughput {
		if s.Error != "" {
			n++
		}
	}
	for _, s := range r.Connrate {
		if s.Conns == 0 {
			n++
		}
	}
	for _, s := range r.Memory {
		if s.Error != "" {
			n++
		}
	}
	return n
}

func (r *report) writeJSON(name string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b, '\n'), 0o644)
}

// print writes the Markdown for BENCHMARKS.md: the machine, the paths, one table per
// measurement with the notes under it.
func (r *report) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "## Meshless data path, %s\n\n", r.Date)
	haproxy := m.HAProxy
	if haproxy == "" {
		haproxy = "no HAProxy"
	}
	fmt.Fprintf(w, "Machine: nproc %d · %s · Linux %s · %s · %s\n\n", m.NProc, m.CPU, m.Kernel, m.Go, haproxy)
	fmt.Fprintf(w, "Run: `integration/bench/meshless.sh %s`: %d round(s), every path once per round, in an order rotated each round; "+
		"median, min and max over rounds.\n\n", strings.Join(r.Args, " "), r.Rounds)
	fmt.Fprintf(w, "Paths (client in one process, server in another, everything on the same %d cores):\n\n", m.NProc)
	fmt.Fprintf(w, "- `tls`: one TLS 1.3 connection over loopback, crypto/tls to crypto/tls (%s). The ceiling of one encrypted hop.\n", r.TLSSuite)
	fmt.Fprintf(w, "- `unix`: the client dials the server's Unix socket. The same-node baseline.\n")
	fmt.Fprintf(w, "- `haproxy`: client → Unix socket → HAProxy A → mTLS (%s) from 127.0.0.2 → HAProxy B on 127.0.0.3 → Unix socket → server. "+
		"Two processes, mode tcp, nbthread 1 each (one process per agent), %s. One TLS connection per client connection (with session resumption).\n", r.HAProxyTLS, r.HAProxyLimits)
	fmt.Fprintf(w, "- `meshless`: client → agent A's Unix socket (handshake%s) → HTTP/2 CONNECT over mTLS → agent B → Unix socket → server.\n", r.pipelined())
	fmt.Fprintf(w, "- `meshless-local`: client → agent A's Unix socket → Unix socket → server, a service on the same node.\n")
	r.printNotes(w, "")

	// A measurement that did not run (not asked for, or the run stopped first) has no table.
	if len(r.Throughput) > 0 || len(r.Notes[measureThroughput]) > 0 {
		r.printThroughput(w)
	}
	if len(r.Connrate) > 0 || len(r.Notes[measureConnrate]) > 0 {
		r.printConnrate(w)
	}
	if len(r.Memory) > 0 || len(r.Notes[measureMemory]) > 0 {
		r.printMemory(w)
	}
}

func (r *report) pipelined() string {
	if r.options.meshless.pipeline {
		return ", first bytes sent right behind the request"
	}
	return ", waiting for the reply"
}

func (r *report) printThroughput(w io.Writer) {
	fmt.Fprintf(w, "### Throughput\n\nOne stream of %s, client → server, counted and checked by the server; GB/s = 10⁹ bytes/s, higher is better.\n\n",
		r.options.bytes)
	fmt.Fprintln(w, "| path | GB/s median | min | max | ÷ haproxy | ÷ tls |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	stats := map[string]stat{}
	for _, p := range allPaths {
		var v []float64
		for _, s := range r.Throughput {
			if s.Path == p && s.Error == "" {
				v = append(v, s.GBps)
			}
		}
		stats[p] = summarize(v)
	}
	for _, p := range allPaths {
		st := stats[p]
		if !r.ran(p, measureThroughput) {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", p, f3(st.med), f3(st.min), f3(st.max),
			ratio(st.med, stats[pathHAProxy].med), ratio(st.med, stats[pathTLS].med))
	}
	for _, s := range r.Throughput {
		if s.Error != "" {
			r.note(measureThroughput, fmt.Sprintf("%s, round %d: %s", s.Path, s.Round, s.Error))
		}
	}
	r.printNotes(w, measureThroughput)
}

func (r *report) printConnrate(w io.Writer) {
	fmt.Fprintf(w, "### New connections\n\nFor %s per path and concurrency, each worker loops: connect (and handshake), write 2 bytes, read the echoed byte, close. "+
		"Latency from the start of connect to the echoed byte; p50 and p99 are medians over rounds of each round's percentile.\n\n", r.options.duration)
	fmt.Fprintln(w, "| path | workers | conns/s median | min | max | p50 µs | p99 µs | errors | conns/s ÷ haproxy | p99 ÷ haproxy | conns/s ÷ unix |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	type key struct {
		path string
		c    int
	}
	type figs struct{ rate, p50, p99 stat }
	all := map[key]figs{}
	errs := map[key]int{}
	ran := map[key]bool{}
	for _, c := range r.options.concurrency {
		for _, p := range allPaths {
			var rate, p50, p99 []float64
			for _, s := range r.Connrate {
				if s.Path == p && s.Concurrency == c {
					ran[key{p, c}] = true
					errs[key{p, c}] += s.Errors
					if s.Conns > 0 {
						rate, p50, p99 = append(rate, s.PerSecond), append(p50, s.P50us), append(p99, s.P99us)
					}
				}
			}
			all[key{p, c}] = figs{summarize(rate), summarize(p50), summarize(p99)}
		}
	}
	for _, c := range r.options.concurrency {
		for _, p := range allPaths {
			if !ran[key{p, c}] {
				continue
			}
			f := all[key{p, c}]
			hp, ux := all[key{pathHAProxy, c}], all[key{pathUnix, c}]
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", p, c,
				f0(f.rate.med), f0(f.rate.min), f0(f.rate.max), f0(f.p50.med), f0(f.p99.med), errs[key{p, c}],
				ratio(f.rate.med, hp.rate.med), ratio(f.p99.med, hp.p99.med), ratio(f.rate.med, ux.rate.med))
		}
	}
	for _, s := range r.Connrate {
		if s.FirstError != "" {
			r.note(measureConnrate, fmt.Sprintf("%s, %d workers, round %d: %d failed attempts, the first: %s",
				s.Path, s.Concurrency, s.Round, s.Errors, s.FirstError))
		}
	}
	r.printNotes(w, measureConnrate)
}

func (r *report) printMemory(w io.Writer) {
	fmt.Fprintf(w, "### Memory per idle connection\n\nThe connections open at once, each after one echo round trip; "+
		"KiB per connection = (ΔVmRSS of agent A + ΔVmRSS of agent B) / connections, lower is better. "+
		"HAProxy runs fresh in every round; the agents are the ones the script started, fresh only in round 1 of a run.\n\n")
	fmt.Fprintln(w, "| path | conns | KiB/conn median | min | max | ΔRSS A MiB | ΔRSS B MiB | ÷ haproxy |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	type figs struct {
		conns           int
		perConn, dA, dB stat
	}
	all := map[string]figs{}
	for _, p := range []string{pathHAProxy, pathMeshless} {
		var f figs
		var per, da, db []float64
		for _, s := range r.Memory {
			if s.Path == p && s.Error == "" && len(s.Pids) == 2 {
				f.conns = s.Conns
				per = append(per, s.KiBPerConn)
				da = append(da, (float64(s.RSSAfterKiB[0])-float64(s.RSSBeforeKiB[0]))/1024)
				db = append(db, (float64(s.RSSAfterKiB[1])-float64(s.RSSBeforeKiB[1]))/1024)
			}
		}
		f.perConn, f.dA, f.dB = summarize(per), summarize(da), summarize(db)
		all[p] = f
	}
	for _, p := range []string{pathHAProxy, pathMeshless} {
		if !r.ran(p, measureMemory) {
			continue
		}
		f := all[p]
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", p, f.conns, f1(f.perConn.med), f1(f.perConn.min), f1(f.perConn.max),
			f1(f.dA.med), f1(f.dB.med), ratio(f.perConn.med, all[pathHAProxy].perConn.med))
	}
	for _, s := range r.Memory {
		if s.Error != "" {
			r.note(measureMemory, fmt.Sprintf("%s, round %d: %s", s.Path, s.Round, s.Error))
		}
	}
	r.printNotes(w, measureMemory)
}

// ran reports whether path has samples in measurement.
func (r *report) ran(path, measurement string) bool {
	switch measurement {
	case measureThroughput:
		return slices.ContainsFunc(r.Throughput, func(s throughputSample) bool { return s.Path == path })
	case measureConnrate:
		return slices.ContainsFunc(r.Connrate, func(s connrateSample) bool { return s.Path == path })
	default:
		return slices.ContainsFunc(r.Memory, func(s memorySample) bool { return s.Path == path })
	}
}

func (r *report) printNotes(w io.Writer, measurement string) {
	notes := r.Notes[measurement]
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintf(w, "- %s\n", strings.ReplaceAll(n, "\n", " "))
		}
	}
	fmt.Fprintln(w)
}

// stat is the median, min and max of some samples; NaN without any.
type stat struct{ med, min, max float64 }

func summarize(v []float64) stat {
	if len(v) == 0 {
		return stat{math.NaN(), math.NaN(), math.NaN()}
	}
	v = slices.Clone(v)
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return stat{med, v[0], v[len(v)-1]}
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func format(v float64, prec int) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func f0(v float64) string { return format(v, 0) }
func f1(v float64) string { return format(v, 1) }
func f3(v float64) string { return format(v, 3) }

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
