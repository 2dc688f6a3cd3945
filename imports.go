// Package caddymesh is the caddymesh module bundle: importing it plugs every mesh module into
// Caddy, together with caddy-l4, on which the mesh's layer-4 data plane is built. Build a
// binary with it:
//
//	xcaddy build --with github.com/caddymesh/caddymesh
package caddymesh

import (
	// caddy-l4's standard modules: the layer4 app and its handlers and matchers. They are
	// listed one by one rather than through caddy-l4's root package because l4quic does
	// not build against the quic-go that Caddy v2.11.9 pins (quic.EarlyConnection is gone).
	_ "github.com/mholt/caddy-l4/layer4"
	_ "github.com/mholt/caddy-l4/modules/l4clock"
	_ "github.com/mholt/caddy-l4/modules/l4dns"
	_ "github.com/mholt/caddy-l4/modules/l4echo"
	_ "github.com/mholt/caddy-l4/modules/l4http"
	_ "github.com/mholt/caddy-l4/modules/l4openvpn"
	_ "github.com/mholt/caddy-l4/modules/l4postgres"
	_ "github.com/mholt/caddy-l4/modules/l4proxy"
	_ "github.com/mholt/caddy-l4/modules/l4proxyprotocol"
	_ "github.com/mholt/caddy-l4/modules/l4rdp"
	_ "github.com/mholt/caddy-l4/modules/l4regexp"
	_ "github.com/mholt/caddy-l4/modules/l4remoteiplist"
	_ "github.com/mholt/caddy-l4/modules/l4socks"
	_ "github.com/mholt/caddy-l4/modules/l4ssh"
	_ "github.com/mholt/caddy-l4/modules/l4subroute"
	_ "github.com/mholt/caddy-l4/modules/l4tee"
	_ "github.com/mholt/caddy-l4/modules/l4throttle"
	_ "github.com/mholt/caddy-l4/modules/l4tls"
	_ "github.com/mholt/caddy-l4/modules/l4winbox"
	_ "github.com/mholt/caddy-l4/modules/l4wireguard"
	_ "github.com/mholt/caddy-l4/modules/l4xmpp"

	// The mesh's Caddyfile support and modules.
	_ "github.com/caddymesh/caddymesh/caddyfile"
	_ "github.com/caddymesh/caddymesh/modules/file"
	_ "github.com/caddymesh/caddymesh/modules/httproute"
	_ "github.com/caddymesh/caddymesh/modules/identity"
	_ "github.com/caddymesh/caddymesh/modules/kube"
	_ "github.com/caddymesh/caddymesh/modules/mesh"
	_ "github.com/caddymesh/caddymesh/modules/meshless"
	_ "github.com/caddymesh/caddymesh/modules/xds/source"
)
