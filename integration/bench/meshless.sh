#!/usr/bin/env bash
# The Meshless L4 data path next to its peers, on this machine: throughput of one stream,
# new connections per second with their latency, and the memory an idle connection costs
# the two agents. The paths, side by side in every round:
#   tls             one TLS 1.3 stream over loopback, crypto/tls to crypto/tls
#   unix            the client dials the server's Unix socket (same-node baseline)
#   haproxy         client → unix → HAProxy A → mTLS → HAProxy B → unix → server
#   meshless        client → agent A's socket (handshake) → mTLS tunnel → agent B → unix → server
#   meshless-local  client → agent A's socket → unix → server (a service on the same node)
# See integration/bench/meshless/main.go.
#
# Usage: integration/bench/meshless.sh [meshless flags]   (default: -rounds 3)
#   integration/bench/meshless.sh -rounds 1 -bytes 256MiB -duration 3s -conns 2000   # quick
#   integration/bench/meshless.sh -measure throughput -paths tls,haproxy,meshless
#   integration/bench/meshless.sh -json /tmp/meshless.json                           # raw figures
# Flags: go run ./integration/bench/meshless -h. The tables go to stdout, ready for
# BENCHMARKS.md; progress goes to stderr.
#
# Installs HAProxy (Debian's package, 2.6 on bookworm) if it is missing: run as root.
# Builds caddymesh and runs the two agents itself (ports TUNNEL_PORT, default 15108, and
# ADMIN_PORT, default 2119, and the next one); NO_AGENTS=1 measures the peers alone.
set -euo pipefail

cd "$(dirname "$0")/../.."
if [ $# -eq 0 ]; then
	set -- -rounds 3
fi

if ! command -v haproxy >/dev/null 2>&1; then
	echo "meshless.sh: installing haproxy" >&2
	# To stderr: stdout is the tables.
	apt-get update >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy >&2
fi

meshless_args=()
# The agents: two caddymesh processes, node-a on 127.0.0.2 and node-b on 127.0.0.3, with
# integration/bench/meshless/agents/Caddyfile over agents/bench.yaml. The bench program
# creates the servers' sockets; the agents dial them per connection.
if [ -z "${NO_AGENTS:-}" ]; then
	work="$(mktemp -d /tmp/mlbench.XXXXXX)" # short: Unix socket paths
	agent_pids=()
	stop_agents() {
		for pid in ${agent_pids[@]+"${agent_pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
		for pid in ${agent_pids[@]+"${agent_pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
		rm -rf "$work"
	}
	trap stop_agents EXIT
	trap 'exit 130' INT TERM
	echo "meshless.sh: building caddymesh" >&2
	go build -o "$work/caddymesh" ./xcaddy/caddymesh
	tunnel_port="${TUNNEL_PORT:-15108}"
	admin_port="${ADMIN_PORT:-2119}"
	start_agent() { # NODE IP ADMIN_PORT
		NODE_NAME="$1" NODE_IP="$2" STATE="$work" MANIFESTS="$PWD/integration/bench/meshless/agents/bench.yaml" \
			TUNNEL_PORT="$tunnel_port" CADDYMESH_ADMIN="localhost:$3" XDG_DATA_HOME="$work" XDG_CONFIG_HOME="$work" \
			"$work/caddymesh" run --adapter caddyfile --config integration/bench/meshless/agents/Caddyfile >"$work/$1.log" 2>&1 &
		agent_pids+=($!)
	}
	wait_for() { # PATH LOG
		for _ in $(seq 1 300); do [ -e "$1" ] && return 0; sleep 0.1; done
		echo "meshless.sh: timed out waiting for $1; the end of $2:" >&2
		tail -n 20 "$2" >&2
		exit 1
	}
	# node-a first: it creates the CA in the shared storage that node-b then loads.
	start_agent node-a 127.0.0.2 "$admin_port"
	wait_for "$work/node-a/bench/client-0/client/meshless" "$work/node-a.log"
	start_agent node-b 127.0.0.3 $((admin_port + 1))
	wait_for "$work/node-b/bench/remote-0/server" "$work/node-b.log"
	meshless_args=(
		-meshless-socket "$work/node-a/bench/client-0/client/meshless"
		-meshless-service data.remote.bench
		-meshless-local-service local.near.bench
		-meshless-server-socket "$work/node-b/bench/remote-0/server/data,$work/node-a/bench/near-0/server/local"
		-meshless-pids "${agent_pids[0]},${agent_pids[1]}"
	)
fi

# Not exec: the trap above, once there, must run when the bench ends. The bench stops its
# own children (server, HAProxy) on exit, Ctrl-C included.
status=0
go run ./integration/bench/meshless ${meshless_args[@]+"${meshless_args[@]}"} "$@" || status=$?
exit "$status"
