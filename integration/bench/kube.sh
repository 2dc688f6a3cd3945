#!/usr/bin/env bash
# The Kubernetes source at scale, as a process, next to a peer: time to synced and resident
# memory (VmRSS, VmHWM) of the caddymesh binary with the kubernetes source, and of plain
# client-go and gateway-api shared informers (integration/bench/kubescale/peer), both
# reading 5,000 Services, 5,000 EndpointSlices (50,000 endpoints) and 1,000 HTTPRoutes from
# a real API server (integration/kubeharness). See integration/bench/kubescale/main.go.
#
# Usage: integration/bench/kube.sh [kubescale flags]   (default: -rounds 3)
# The in-process figures (retained heap, update latency) come from
#   go test -run '^$' -bench 'Sync$|UpdateLatency$' -benchtime 5s -count 3 ./modules/kube/
set -euo pipefail

cd "$(dirname "$0")/../.."
if [ $# -eq 0 ]; then
	set -- -rounds 3
fi
exec go run ./integration/bench/kubescale "$@"
