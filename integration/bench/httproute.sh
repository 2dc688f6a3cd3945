#!/usr/bin/env bash
# The HTTP router mesh_router next to Caddy's own static routes and nginx, on this machine:
# requests per second through each proxy to one backend with 10, 1,000 and 10,000 path
# routes, every request to the last route. The peers, side by side in every round:
#   mesh_router  caddymesh with `mesh_router { gateway bench/gw 80 }` over generated
#                manifests (N HTTPRoutes, one PathPrefix rule each) from the file source
#   caddy        the same binary with a JSON config of N routes (path matcher → reverse_proxy)
#   nginx        N prefix locations → proxy_pass to a keep-alive upstream (the reference)
# The backend is nginx (one worker, return 200 "ok"). See integration/bench/httproute/main.go.
#
# Usage: integration/bench/httproute.sh [httproute flags]   (default: -rounds 3)
#   integration/bench/httproute.sh -rounds 1 -duration 2s -warmup 1s -routes 10,10000   # quick
#   integration/bench/httproute.sh -json /tmp/httproute.json                            # raw figures
# Flags: go run ./integration/bench/httproute -h. The tables go to stdout, ready for
# BENCHMARKS.md; progress goes to stderr.
#
# Installs nginx and wrk (Debian's packages) if missing: run as root.
set -euo pipefail

cd "$(dirname "$0")/../.."
if [ $# -eq 0 ]; then
	set -- -rounds 3
fi

missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
	echo "httproute.sh: installing ${missing[*]}" >&2
	# To stderr: stdout is the tables.
	apt-get update >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
fi

work="$(mktemp -d /tmp/hrbench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
echo "httproute.sh: building caddymesh" >&2
go build -o "$work/caddymesh" ./xcaddy/caddymesh
go build -o "$work/httproute" ./integration/bench/httproute

# Not exec: the trap above, once there, must run when the bench ends. The bench stops its
# own children (the backend and the peers) on exit, Ctrl-C included.
status=0
"$work/httproute" -caddymesh "$work/caddymesh" "$@" || status=$?
exit "$status"
