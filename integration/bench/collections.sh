#!/usr/bin/env bash
# Runs caddymesh's collections and Istio's krt side by side (integration/bench/krt, a module of
# its own so that Istio never enters caddymesh's go.mod), then prints each benchmark's median
# for both libraries and the ratio caddymesh/krt. With benchstat available it also prints
# benchstat's table, with the two libraries as columns.
#
# Usage: integration/bench/collections.sh [output file]   (default /tmp/collections-krt-bench.txt)
# COUNT (default 6) sets -count.
set -euo pipefail

out=${1:-/tmp/collections-krt-bench.txt}
count=${COUNT:-6}
cd "$(dirname "$0")/krt"

go test -run='^$' -bench=. -benchmem -count="$count" | tee "$out"

echo
if go run golang.org/x/perf/cmd/benchstat@latest -col /lib "$out" >"$out.benchstat" 2>"$out.benchstat.err"; then
	echo "== benchstat -col /lib (krt's column shows its difference from caddymesh)"
	cat "$out.benchstat"
	echo
else
	echo "benchstat unavailable ($(head -n1 "$out.benchstat.err")); medians only"
	echo
fi
rm -f "$out.benchstat" "$out.benchstat.err"

# Medians per benchmark and unit, and the ratio caddymesh/krt for each pair.
echo "== medians of $count runs; ratio = caddymesh / krt (below 1: caddymesh costs less)"
awk '
	/^Benchmark/ {
		name = $1
		sub(/-[0-9]+$/, "", name) # the GOMAXPROCS suffix
		for (i = 3; i < NF; i += 2) print name "\t" $(i + 1) "\t" $i
	}
' "$out" | sort -t "$(printf '\t')" -k1,1 -k2,2 -k3,3g | awk -F '\t' '
	function fmtv(x) { return (x >= 10000) ? sprintf("%.0f", x) : sprintf("%.4g", x) }
	function flush() {
		if (n == 0) return
		m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		med[key] = m
		if (!(key in seen)) { order[++k] = key; seen[key] = 1 }
		n = 0
	}
	{
		cur = $1 SUBSEP $2
		if (cur != key) { flush(); key = cur }
		v[++n] = $3
	}
	END {
		flush()
		printf "%-58s %-10s %14s %14s %8s\n", "benchmark", "unit", "caddymesh", "krt", "ratio"
		for (j = 1; j <= k; j++) {
			split(order[j], p, SUBSEP)
			if (p[1] !~ /lib=caddymesh/) continue
			other = p[1]; sub(/lib=caddymesh/, "lib=krt", other)
			okey = other SUBSEP p[2]
			bench = p[1]; sub(/\/lib=caddymesh/, "", bench)
			if (okey in med) {
				r = (med[okey] != 0) ? sprintf("%.3g", med[order[j]] / med[okey]) : "-"
				printf "%-58s %-10s %14s %14s %8s\n", bench, p[2], fmtv(med[order[j]]), fmtv(med[okey]), r
			} else {
				printf "%-58s %-10s %14s %14s %8s\n", bench, p[2], fmtv(med[order[j]]), "-", "-"
			}
		}
	}
'
