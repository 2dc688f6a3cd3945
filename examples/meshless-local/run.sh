#!/usr/bin/env bash
# The Meshless quickstart: two node agents on one machine (node-a on 127.0.0.2, node-b on
# 127.0.0.3), an echo service with two versions on node-b, and calls from a client on
# node-a that cross the agents' mTLS tunnel. It builds everything it runs with Go; nothing
# else is installed.
#
#   examples/meshless-local/run.sh            # run the demo, then stop everything
#   examples/meshless-local/run.sh --keep     # leave the mesh running until Ctrl-C
#
# Environment: TUNNEL_PORT (default 15008) is the tunnel port, the same on both addresses;
# ADMIN_PORT (default 2019) is node-a's admin port on localhost, and node-b's is the next
# one; CALLS (default 20) is the number of calls of the canary demo.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
keep=false
[ "${1:-}" = "--keep" ] && keep=true
tunnel_port="${TUNNEL_PORT:-15008}"
admin_port="${ADMIN_PORT:-2019}"
calls="${CALLS:-20}"

# A short folder: Unix socket paths must stay under 108 bytes.
state="$(mktemp -d /tmp/mless.XXXXXX)"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	[ -n "${KEEP_STATE:-}" ] || rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building caddymesh and the sample programs"
mkdir -p "$state/bin"
(cd "$repo" && go build -o "$state/bin/" ./xcaddy/caddymesh ./examples/meshless-local/cmd/echo-server ./examples/meshless-local/cmd/meshless-client)

# wait_for PATH WHAT LOG: until PATH exists, or fail showing the log's tail.
wait_for() {
	for _ in $(seq 1 300); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	echo "timed out waiting for $2; the end of $3:" >&2
	tail -n 30 "$3" >&2
	exit 1
}

start_agent() { # start_agent NODE IP ADMIN_PORT
	NODE_NAME="$1" NODE_IP="$2" STATE="$state" MANIFESTS="$here/manifests" \
		TUNNEL_PORT="$tunnel_port" CADDYMESH_ADMIN="localhost:$3" \
		"$state/bin/caddymesh" run --adapter caddyfile --config "$here/Caddyfile" >"$state/$1.log" 2>&1 &
	pids+=($!)
}

echo "== starting the node agents"
# node-a first: it creates the embedded CA in the shared storage, which node-b then loads.
start_agent node-a 127.0.0.2 "$admin_port"
wait_for "$state/node-a/demo/client-0/client/meshless" "node-a's client socket" "$state/node-a.log"
start_agent node-b 127.0.0.3 $((admin_port + 1))
wait_for "$state/node-b/demo/echo-v1-0/server" "node-b's socket folders" "$state/node-b.log"

echo "== starting the echo servers of node-b (v1 and v2)"
for pod in echo-v1-0 echo-v2-0; do
	"$state/bin/echo-server" -dir "$state/node-b/demo/$pod/server" -service echo -name "$pod" >"$state/$pod.log" 2>&1 &
	pids+=($!)
	wait_for "$state/node-b/demo/$pod/server/echo" "$pod's socket" "$state/$pod.log"
done

client() { # client POD SERVICE [N]
	"$state/bin/meshless-client" -socket "$state/node-a/demo/$1/client/meshless" -service "$2" -n "${3:-1}"
}

echo "== $calls calls from client-0 (node-a) to echo.server.demo (node-b), canary 90/10"
out="$(client client-0 echo.server.demo "$calls")"
echo "$out" | sort | uniq -c
v1="$(grep -c 'echo-v1-0' <<<"$out" || true)"
v2="$(grep -c 'echo-v2-0' <<<"$out" || true)"
if [ $((v1 + v2)) -ne "$calls" ]; then
	echo "FAIL: $((v1 + v2)) of $calls calls answered" >&2
	exit 1
fi

echo "== a call from intruder-0, whose meshlet may call nothing: expect 5 (not allowed)"
set +e
denied="$(client intruder-0 echo.server.demo)"
denied_rc=$?
set -e
echo "$denied"
if [ "$denied_rc" -ne 2 ] || ! grep -q '^5 ' <<<"$denied"; then
	echo "FAIL: the intruder's call was not refused with code 5" >&2
	exit 1
fi

echo "== a call to a service nobody serves: expect 4 (service not found)"
set +e
missing="$(client client-0 nope.server.demo)"
set -e
echo "$missing"
grep -q '^4 ' <<<"$missing" || { echo "FAIL: expected code 4" >&2; exit 1; }

echo "== access log of node-a (outbound) and node-b (inbound), one line per connection"
grep -h '"msg":"connection"' "$state/node-a.log" | tail -n 1 || true
grep -h '"msg":"connection refused"' "$state/node-a.log" | tail -n 1 || true
grep -h '"msg":"connection"' "$state/node-b.log" | tail -n 1 || true

echo "== ok: $v1 calls to v1, $v2 to v2, through node-a → tunnel → node-b"
if $keep; then
	echo "The mesh keeps running; state in $state. Ctrl-C stops it. Try:"
	echo "  $state/bin/meshless-client -socket $state/node-a/demo/client-0/client/meshless -service echo.server.demo -n 5"
	wait
fi
