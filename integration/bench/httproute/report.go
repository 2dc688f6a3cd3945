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

// sample is one peer's measured load in one round.
type sample struct {
	Routes   int    `json:"routes"`
	Round    int    `json:"round"`
	Position int    `json:"position"` // 1 for the peer measured first in its round
	Peer     string `json:"peer"`
	wrkResult
}

// readySample is how long a peer took from its start to serving its last route.
type readySample struct {
	Routes  int     `json:"routes"`
	Peer    string  `json:"peer"`
	Seconds float64 `json:"seconds"`
}

// report holds every sample and what the tables need besides.
type report struct {
	Date      string        `json:"date"`
	Args      []string      `json:"args"`
	Machine   machine       `json:"machine"`
	Backend   string        `json:"backend"`
	LoadStart string        `json:"load_start"` // /proc/loadavg's 1, 5 and 15 minute figures
	LoadEnd   string        `json:"load_end"`
	Notes     []string      `json:"notes,omitempty"`
	Samples   []sample      `json:"samples"`
	Ready     []readySample `json:"ready"`
	options   options
}

type machine struct {
	NProc  int    `json:"nproc"`
	CPU    string `json:"cpu"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Nginx  string `json:"nginx,omitempty"`
	Wrk    string `json:"wrk,omitempty"`
}

func newReport(o options) *report {
	return &report{
		Date:    time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Args:    scriptArgs(os.Args[1:]),
		options: o,
		Machine: machine{NProc: runtime.NumCPU(), CPU: cpuModel(), Kernel: kernel(), Go: runtime.Version()},
	}
}

// scriptArgs are the arguments without -caddymesh, which the script adds.
func scriptArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(args[i], "-")
		switch {
		case a == "caddymesh" || a == "-caddymesh":
			i++ // and its value
		case strings.HasPrefix(a, "caddymesh=") || strings.HasPrefix(a, "-caddymesh="):
		default:
			out = append(out, args[i])
		}
	}
	return out
}

func (r *report) note(s string) { r.Notes = append(r.Notes, s) }

// errors counts the failed requests of every measurement.
func (r *report) errors() int64 {
	var n int64
	for _, s := range r.Samples {
		n += s.errors()
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

// peers are the peers with samples, in table order.
func (r *report) peers() []string {
	var out []string
	for _, p := range allPeers {
		if slices.ContainsFunc(r.Samples, func(s sample) bool { return s.Peer == p }) {
			out = append(out, p)
		}
	}
	return out
}

// routeCounts are the route counts with samples, in the order run.
func (r *report) routeCounts() []int {
	var out []int
	for _, s := range r.Samples {
		if !slices.Contains(out, s.Routes) {
			out = append(out, s.Routes)
		}
	}
	return out
}

// rate is the median, min and max requests/s of a peer at a route count.
func (r *report) rate(peer string, routes int) stat {
	return r.stat(peer, routes, func(s sample) float64 { return s.PerSecond })
}

func (r *report) stat(peer string, routes int, f func(sample) float64) stat {
	var v []float64
	for _, s := range r.Samples {
		if s.Peer == peer && s.Routes == routes {
			v = append(v, f(s))
		}
	}
	return summarize(v)
}

// print writes the Markdown for BENCHMARKS.md.
func (r *report) print(w io.Writer) {
	m := r.Machine
	o := r.options
	fmt.Fprintf(w, "## HTTP router: mesh_router against Caddy's static routes and nginx, %s\n\n", r.Date)
	fmt.Fprintf(w, "Machine: nproc %d · %s · Linux %s · %s · %s · %s. Load average (1, 5, 15 min) %s at the start, %s at the end.\n\n",
		m.NProc, m.CPU, m.Kernel, m.Go, orNone(m.Nginx, "no nginx"), orNone(m.Wrk, "wrk"), r.LoadStart, r.LoadEnd)
	fmt.Fprintf(w, "Run: `integration/bench/httproute.sh %s`: for each route count the peers run side by side; in each of %d round(s) every peer in turn "+
		"(order rotated each round) gets %s of wrk warm-up, then %s measured (%d thread(s), %d keep-alive connections), every request to the last route "+
		"(`/svc-<N-1>/ok`). Backend: %s, on its own port.\n\n",
		strings.Join(r.Args, " "), o.rounds, o.warmup, o.duration, o.threads, o.connections, r.Backend)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "- %s\n", strings.ReplaceAll(n, "\n", " "))
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
	}
	peers, counts := r.peers(), r.routeCounts()
	if len(peers) == 0 {
		return
	}
	r.printRates(w, peers, counts)
	r.printCPU(w, peers, counts)
	r.printLatency(w, peers, counts)
	r.printRounds(w, peers, counts)
	r.printReady(w, peers, counts)
	r.printTargets(w, counts)
}

// paired is the median, min and max over rounds of f(peer a's sample) ÷ f(peer b's) in
// the same round: two peers measured side by side, so a slower stretch of the machine
// weighs on both.
func (r *report) paired(a, b string, routes int, f func(sample) float64) stat {
	var v []float64
	for _, sa := range r.Samples {
		if sa.Peer != a || sa.Routes != routes {
			continue
		}
		for _, sb := range r.Samples {
			if sb.Peer == b && sb.Routes == routes && sb.Round == sa.Round {
				if x, y := f(sa), f(sb); !math.IsNaN(x) && !math.IsNaN(y) && y != 0 {
					v = append(v, x/y)
				}
			}
		}
	}
	return summarize(v)
}

func perSecond(s sample) float64 { return s.PerSecond }
func cpuPer(s sample) float64    { return s.cpuPerRequest() }

func (r *report) printRates(w io.Writer, peers []string, counts []int) {
	first := counts[0]
	fmt.Fprintf(w, "### Requests per second\n\nMedian (min–max) over rounds. The ratios are per round, side by side: their median (min–max).\n\n| routes |")
	for _, p := range peers {
		fmt.Fprintf(w, " %s |", p)
	}
	fmt.Fprintf(w, " mesh_router ÷ caddy | mesh_router ÷ nginx | medians ÷ the %s-route medians | errors |\n|---:|", thousands(float64(first)))
	for range peers {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w, "---:|---:|---|---:|")
	for _, n := range counts {
		fmt.Fprintf(w, "| %s |", thousands(float64(n)))
		var errs int64
		var own []string
		for _, p := range peers {
			fmt.Fprintf(w, " %s |", spread(r.stat(p, n, perSecond), thousands))
			own = append(own, p+" "+ratio(r.rate(p, n).med, r.rate(p, first).med))
		}
		for _, s := range r.Samples {
			if s.Routes == n {
				errs += s.errors()
			}
		}
		fmt.Fprintf(w, " %s | %s | %s | %d |\n", spread(r.paired(peerMesh, peerCaddy, n, perSecond), f2),
			spread(r.paired(peerMesh, peerNginx, n, perSecond), f2), strings.Join(own, ", "), errs)
	}
	fmt.Fprintln(w)
}

// printCPU is the peers' own CPU time per request: steadier than requests/s on a shared
// machine, since time the peer waits for a core is not counted.
func (r *report) printCPU(w io.Writer, peers []string, counts []int) {
	fmt.Fprintf(w, "### CPU time per request\n\nThe CPU time (user + system, from /proc) of the peer's processes (nginx's workers included; "+
		"not the backend's, not wrk's) during the measurement, ÷ requests: µs, median (min–max) over rounds; lower is better. "+
		"The ratios are per round, side by side.\n\n| routes |")
	for _, p := range peers {
		fmt.Fprintf(w, " %s |", p)
	}
	fmt.Fprint(w, " caddy ÷ mesh_router | nginx ÷ mesh_router |\n|---:|")
	for range peers {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w, "---:|---:|")
	for _, n := range counts {
		fmt.Fprintf(w, "| %s |", thousands(float64(n)))
		for _, p := range peers {
			fmt.Fprintf(w, " %s |", spread(r.stat(p, n, cpuPer), f0))
		}
		fmt.Fprintf(w, " %s | %s |\n", spread(r.paired(peerCaddy, peerMesh, n, cpuPer), f2), spread(r.paired(peerNginx, peerMesh, n, cpuPer), f2))
	}
	fmt.Fprintln(w)
}

// spread formats a stat as "median (min–max)".
func spread(st stat, f func(float64) string) string {
	if math.IsNaN(st.med) {
		return "–"
	}
	return fmt.Sprintf("%s (%s–%s)", f(st.med), f(st.min), f(st.max))
}

func (r *report) printLatency(w io.Writer, peers []string, counts []int) {
	fmt.Fprintf(w, "### Latency under that load\n\nwrk's p50 / p99 in µs, median over rounds.\n\n| routes |")
	for _, p := range peers {
		fmt.Fprintf(w, " %s |", p)
	}
	fmt.Fprint(w, "\n|---:|")
	for range peers {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, n := range counts {
		fmt.Fprintf(w, "| %s |", thousands(float64(n)))
		for _, p := range peers {
			p50 := r.stat(p, n, func(s sample) float64 { return s.P50us })
			p99 := r.stat(p, n, func(s sample) float64 { return s.P99us })
			fmt.Fprintf(w, " %s / %s |", thousands(p50.med), thousands(p99.med))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func (r *report) printRounds(w io.Writer, peers []string, counts []int) {
	fmt.Fprintf(w, "### Every round, side by side (requests/s)\n\n| routes | round | order |")
	for _, p := range peers {
		fmt.Fprintf(w, " %s |", p)
	}
	fmt.Fprint(w, " mesh_router ÷ caddy | mesh_router ÷ nginx |\n|---:|---:|---|")
	for range peers {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w, "---:|---:|")
	for _, n := range counts {
		for round := 1; round <= r.options.rounds; round++ {
			byPeer := map[string]sample{}
			var order []sample
			for _, s := range r.Samples {
				if s.Routes == n && s.Round == round {
					byPeer[s.Peer] = s
					order = append(order, s)
				}
			}
			if len(order) == 0 {
				continue
			}
			slices.SortFunc(order, func(a, b sample) int { return a.Position - b.Position })
			names := make([]string, len(order))
			for i, s := range order {
				names[i] = s.Peer
			}
			fmt.Fprintf(w, "| %s | %d | %s |", thousands(float64(n)), round, strings.Join(names, ", "))
			rate := func(p string) float64 {
				if s, ok := byPeer[p]; ok {
					return s.PerSecond
				}
				return math.NaN()
			}
			for _, p := range peers {
				fmt.Fprintf(w, " %s |", thousands(rate(p)))
			}
			fmt.Fprintf(w, " %s | %s |\n", ratio(rate(peerMesh), rate(peerCaddy)), ratio(rate(peerMesh), rate(peerNginx)))
		}
	}
	fmt.Fprintln(w)
}

func (r *report) printReady(w io.Writer, peers []string, counts []int) {
	fmt.Fprintf(w, "### Start-up\n\nSeconds from starting the process until it serves the last route (mesh_router: reading the manifests, translating, compiling).\n\n| routes |")
	for _, p := range peers {
		fmt.Fprintf(w, " %s |", p)
	}
	fmt.Fprint(w, "\n|---:|")
	for range peers {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, n := range counts {
		fmt.Fprintf(w, "| %s |", thousands(float64(n)))
		for _, p := range peers {
			v := math.NaN()
			for _, s := range r.Ready {
				if s.Routes == n && s.Peer == p {
					v = s.Seconds
				}
			}
			fmt.Fprintf(w, " %s |", format(v, 1))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// printTargets checks the targets on the smallest and largest route counts: on
// requests/s, and again on CPU time per request.
func (r *report) printTargets(w io.Writer, counts []int) {
	small, large := slices.Min(counts), slices.Max(counts)
	type target struct {
		what  string
		value float64
		min   float64
	}
	var targets []target
	n := func(v int) string { return thousands(float64(v)) }
	if large != small {
		targets = append(targets,
			target{fmt.Sprintf("mesh_router req/s at %s routes ÷ at %s (medians)", n(large), n(small)), r.rate(peerMesh, large).med / r.rate(peerMesh, small).med, 0.9},
			target{fmt.Sprintf("mesh_router CPU/request at %s routes ÷ at %s, inverted (medians)", n(large), n(small)),
				r.stat(peerMesh, small, cpuPer).med / r.stat(peerMesh, large, cpuPer).med, 0.9},
			target{fmt.Sprintf("mesh_router ÷ caddy req/s at %s routes (per round)", n(large)), r.paired(peerMesh, peerCaddy, large, perSecond).med, 15},
			target{fmt.Sprintf("caddy ÷ mesh_router CPU/request at %s routes (per round)", n(large)), r.paired(peerCaddy, peerMesh, large, cpuPer).med, 15})
	}
	targets = append(targets,
		target{fmt.Sprintf("mesh_router ÷ caddy req/s at %s routes (per round)", n(small)), r.paired(peerMesh, peerCaddy, small, perSecond).med, 1.0},
		target{fmt.Sprintf("caddy ÷ mesh_router CPU/request at %s routes (per round)", n(small)), r.paired(peerCaddy, peerMesh, small, cpuPer).med, 1.0})
	fmt.Fprintf(w, "### Targets\n\n| ratio, median | value | target | |\n|---|---:|---:|---|\n")
	for _, t := range targets {
		verdict := "met"
		switch {
		case math.IsNaN(t.value) || math.IsInf(t.value, 0):
			verdict = "not measured"
		case t.value < t.min:
			verdict = "missed"
		}
		fmt.Fprintf(w, "| %s | %s | ≥ %g | %s |\n", t.what, format(t.value, 2), t.min, verdict)
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

func f0(v float64) string { return format(v, 0) }
func f2(v float64) string { return format(v, 2) }

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func format(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// thousands formats a whole number with thousands separators: 12,345.
func thousands(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

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
