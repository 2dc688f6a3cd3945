#!/usr/bin/env bash
# The quickstart: caddymesh as a Gateway API gateway on the file source, with no cluster.
# It builds caddymesh, runs it on the manifests in manifests/ (a GatewayClass, a Gateway,
# an HTTPRoute, Services and EndpointSlices) with the shop's backends served by the same
# Caddy, calls the route with curl, then edits the HTTPRoute and shows the new routing
# serving within a second, with no reload.
#
#   examples/quickstart/run.sh            # run the demo, then stop
#   examples/quickstart/run.sh --keep     # leave caddymesh running until Ctrl-C
#
# Environment: GATEWAY_PORT (8000), FRONTEND_PORT (8080), CATALOG_PORT (9090) and
# ADMIN_PORT (2019) move the ports; the manifests are copied and edited to match.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
keep=false
[ "${1:-}" = "--keep" ] && keep=true
gateway_port="${GATEWAY_PORT:-8000}"
frontend_port="${FRONTEND_PORT:-8080}"
catalog_port="${CATALOG_PORT:-9090}"
admin_port="${ADMIN_PORT:-2019}"

state="$(mktemp -d /tmp/quickstart.XXXXXX)"
pid=""
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building caddymesh"
(cd "$repo" && go build -o "$state/caddymesh" ./xcaddy/caddymesh)

# The manifests are edited below, so the demo works on a copy, with the ports moved.
cp -r "$here/manifests" "$state/manifests"
sed -i "s/^      port: 8000$/      port: $gateway_port/" "$state/manifests/gateway.yaml"
sed -i -e "s/^    port: 8080$/    port: $frontend_port/" -e "s/^    port: 9090$/    port: $catalog_port/" "$state/manifests/services.yaml"

echo "== starting caddymesh (admin on localhost:$admin_port, the Gateway on 127.0.0.1:$gateway_port)"
CADDYMESH_ADMIN="localhost:$admin_port" CADDYMESH_MANIFESTS="$state/manifests" \
	FRONTEND_PORT="$frontend_port" CATALOG_PORT="$catalog_port" \
	"$state/caddymesh" run --adapter caddyfile --config "$here/Caddyfile" >"$state/caddymesh.log" 2>&1 &
pid=$!

gw="http://127.0.0.1:$gateway_port"
call() { curl -s --max-time 2 -H 'Host: shop.example.com' "$gw$1"; }

for _ in $(seq 1 300); do
	[ "$(call / 2>/dev/null || true)" = "frontend" ] && break
	sleep 0.1
done
if [ "$(call /)" != "frontend" ]; then
	echo "the Gateway did not start serving; the end of the log:" >&2
	tail -n 30 "$state/caddymesh.log" >&2
	exit 1
fi

echo "== the HTTPRoute: /catalog to the catalog Service, the rest to the frontend"
for path in / /catalog /catalog/items /catalog /catalog; do
	printf '  curl -H "Host: shop.example.com" %s%-15s -> %s\n' "$gw" "$path" "$(call "$path")"
done
printf '  a host the route does not serve          -> HTTP %s\n' \
	"$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: other.example.com' "$gw/")"

echo "== the status caddymesh wrote for the route (GET /mesh/status)"
curl -s "localhost:$admin_port/mesh/status?kind=httproutes&key=shop/shop" |
	grep -E '"(type|status|reason)":' | paste -sd' ' | sed -e 's/  */ /g' -e 's/^/ /'


echo "== editing the HTTPRoute: /catalog becomes /products"
start=$(date +%s%N)
sed -i 's#value: /catalog#value: /products#' "$state/manifests/routes.yaml"
while [ "$(call /products)" = "frontend" ]; do
	if [ $(( ($(date +%s%N) - start) / 1000000 )) -gt 5000 ]; then
		echo "the edit did not take effect within 5 s" >&2
		exit 1
	fi
	sleep 0.02
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf '  /products -> %s   /catalog -> %s   (serving %d ms after the edit)\n' "$(call /products)" "$(call /catalog)" "$ms"
if [ "$ms" -gt 1000 ]; then
	echo "the edit took more than a second to serve" >&2
	exit 1
fi

if $keep; then
	echo "== caddymesh keeps running; the manifests are in $state/manifests. Ctrl-C stops it."
	wait "$pid"
fi
