#!/usr/bin/env bash
# Starts the example control plane, then caddymesh subscribed to it; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")"
go build -o "${TMPDIR:-/tmp}/caddymesh-example-cp" ./controlplane
"${TMPDIR:-/tmp}/caddymesh-example-cp" -listen "${XDS_SERVER:-127.0.0.1:18000}" &
cp=$!
trap 'kill $cp 2>/dev/null || true' EXIT
go run ../../xcaddy/caddymesh run
