package httproute

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("mesh_router", parseHandler)
	// mesh_router ends a chain (it proxies, redirects or answers) unless it falls through
	// to what follows, such as a respond for unrouted requests: it runs just before
	// respond, and so before reverse_proxy and file_server.
	httpcaddyfile.RegisterDirectiveOrder("mesh_router", httpcaddyfile.Before, "respond")
}

// UnmarshalCaddyfile sets up the Gateway controller from the tokens of the mesh global
// option's gateway block:
//
//	gateway {
//		class           <names...>
//		controller_name <domain/path>
//		source          <name>
//		listen_host     <ip>
//		ephemeral_ports
//		port_map        <listener port>:<bound port>...
//		address         <values...>
//	}
//
// Every setting is optional; a bare `gateway` serves every class of caddymesh.io/gateway.
func (g *GatewayAgent) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		opt := d.Val()
		args := d.RemainingArgs()
		switch opt {
		case "class":
			if len(args) == 0 {
				return d.ArgErr()
			}
			g.Classes = append(g.Classes, args...)
		case "address":
			if len(args) == 0 {
				return d.ArgErr()
			}
			g.Addresses = append(g.Addresses, args...)
		case "port_map":
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, a := range args {
				from, to, ok := strings.Cut(a, ":")
				p, err1 := strconv.Atoi(from)
				q, err2 := strconv.Atoi(to)
				if !ok || err1 != nil || err2 != nil || p < 1 || p > 65535 || q < 1 || q > 65535 {
					return d.Errf("port_map %q: want <listener port>:<bound port>, such as 80:8080", a)
				}
				if g.PortMap == nil {
					g.PortMap = map[string]int{}
				}
				g.PortMap[from] = q
			}
		case "ephemeral_ports":
			if len(args) != 0 {
				return d.ArgErr()
			}
			g.EphemeralPorts = true
		case "controller_name", "source", "listen_host":
			if len(args) != 1 {
				return d.ArgErr()
			}
			*g.stringField(opt) = args[0]
		default:
			return d.Errf("unrecognized gateway option %q", opt)
		}
	}
	return nil
}

func (g *GatewayAgent) stringField(opt string) *string {
	switch opt {
	case "controller_name":
		return &g.ControllerName
	case "source":
		return &g.Source
	}
	return &g.ListenHost
}

// parseHandler reads the mesh_router directive:
//
//	mesh_router {
//		gateway             <namespace/name> [<port>]
//		route_configuration <name>
//		source              <name>
//		controller_name     <domain/path>
//		fallthrough
//	}
//
// with exactly one of gateway and route_configuration.
func parseHandler(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	return m, m.UnmarshalCaddyfile(h.Dispenser)
}

// UnmarshalCaddyfile reads the mesh_router directive.
func (m *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		opt := d.Val()
		args := d.RemainingArgs()
		switch opt {
		case "gateway":
			if len(args) < 1 || len(args) > 2 {
				return d.ArgErr()
			}
			m.Gateway = args[0]
			if len(args) == 2 {
				port, err := strconv.Atoi(args[1])
				if err != nil || port < 1 || port > 65535 {
					return d.Errf("gateway port %q: want a port number from 1 to 65535", args[1])
				}
				m.Port = int32(port)
			}
		case "route_configuration", "source", "controller_name":
			if len(args) != 1 {
				return d.ArgErr()
			}
			switch opt {
			case "route_configuration":
				m.RouteConfiguration = args[0]
			case "source":
				m.Source = args[0]
			default:
				m.ControllerName = args[0]
			}
		case "fallthrough":
			if len(args) != 0 {
				return d.ArgErr()
			}
			m.Fallthrough = true
		default:
			return d.Errf("unrecognized mesh_router option %q", opt)
		}
	}
	if (m.Gateway == "") == (m.RouteConfiguration == "") {
		return d.Err("mesh_router needs exactly one of gateway and route_configuration")
	}
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*GatewayAgent)(nil)
	_ caddyfile.Unmarshaler = (*Handler)(nil)
)
