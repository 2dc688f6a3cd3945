#!/usr/bin/env bash
# Builds Caddy with the caddymesh bundle the way users do, with xcaddy (pinned as a Go tool in
# go.mod), using this checkout as the bundle's source.
#   usage: xcaddy/build.sh [output]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/bin/caddymesh-xcaddy}
case $out in /*) ;; *) out=$PWD/$out ;; esac
cd "$root"
# xcaddy builds in a temporary module that requires the bundle and replaces it with this
# checkout. The zero pseudo-version keeps `go get` from asking the module proxy for the
# bundle's latest version, which the proxy does not have for an unpublished checkout.
exec go tool xcaddy build v2.11.9 --output "$out" --with "github.com/caddymesh/caddymesh@v0.0.0-00010101000000-000000000000=$root"
