package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// printTable prints every sample, then the medians of each side and the ratio ours/peer.
func printTable(w io.Writer, samples []sample) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tside\tnamespace\tsynced (s)\tVmRSS (MB)\tVmHWM (MB)\tRssAnon (MB)\tRssFile (MB)\t")
	for _, s := range samples {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", s.round, s.side, s.scenario, s.synced.Seconds(),
			mb(s.mem.rss), mb(s.mem.hwm), mb(s.mem.anon), mb(s.mem.file))
	}
	_ = tw.Flush()

	med := func(side, scenario string, f func(sample) float64) float64 {
		var v []float64
		for _, s := range samples {
			if s.side == side && s.scenario == scenario {
				v = append(v, f(s))
			}
		}
		return median(v)
	}
	synced := func(s sample) float64 { return s.synced.Seconds() }
	rounds := 0
	for _, s := range samples {
		rounds = max(rounds, s.round)
	}

	fmt.Fprintf(w, "\nmedians of %d rounds; ratio = ours / peer (below 1: ours costs less)\n", rounds)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "figure\tours\tpeer\tratio\t")
	row := func(name string, ours, peer float64, format string) {
		fmt.Fprintf(tw, "%s\t"+format+"\t"+format+"\t%.3f\t\n", name, ours, peer, ours/peer)
	}
	for _, sc := range []string{"full", "empty"} {
		row("time to synced, "+sc+" (s)", med("ours", sc, synced), med("peer", sc, synced), "%.3f")
	}
	figures := []struct {
		name string
		f    func(sample) float64
	}{
		{"VmRSS", func(s sample) float64 { return mb(s.mem.rss) }},
		{"VmHWM", func(s sample) float64 { return mb(s.mem.hwm) }},
		{"RssAnon", func(s sample) float64 { return mb(s.mem.anon) }},
		{"RssFile", func(s sample) float64 { return mb(s.mem.file) }},
	}
	for _, sc := range []string{"full", "empty"} {
		for _, fg := range figures {
			row(fg.name+", "+sc+" (MB)", med("ours", sc, fg.f), med("peer", sc, fg.f), "%.1f")
		}
	}
	for _, fg := range figures[:3] {
		row(fg.name+", full - empty (MB)", med("ours", "full", fg.f)-med("ours", "empty", fg.f),
			med("peer", "full", fg.f)-med("peer", "empty", fg.f), "%.1f")
	}
	_ = tw.Flush()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
