package meshless

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the node agent from Caddyfile tokens, inside the global mesh
// option. Syntax:
//
//	meshless {
//		root              <path>
//		tunnel_port       <port>
//		tunnel_address    <ip>
//		handshake_timeout <duration>
//		connect_timeout   <duration>
//		sync_timeout      <duration>
//		source            <name>
//	}
//
// Every setting is optional; a bare `meshless` runs the agent with the defaults.
func (a *Agent) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		opt := d.Val()
		var val string
		if !d.Args(&val) {
			return d.ArgErr()
		}
		if d.NextArg() {
			return d.ArgErr()
		}
		switch opt {
		case "root":
			a.Root = val
		case "tunnel_address":
			a.TunnelAddress = val
		case "source":
			a.Source = val
		case "tunnel_port":
			port, err := strconv.Atoi(val)
			if err != nil || port < 1 || port > 65535 {
				return d.Errf("tunnel_port %q: want a port number from 1 to 65535", val)
			}
			a.TunnelPort = port
		case "handshake_timeout", "connect_timeout", "sync_timeout":
			dur, err := caddy.ParseDuration(val)
			if err != nil || dur <= 0 {
				return d.Errf("%s %q: want a positive duration such as 5s", opt, val)
			}
			*a.durationField(opt) = caddy.Duration(dur)
		default:
			return d.Errf("unrecognized meshless option %q", opt)
		}
	}
	return nil
}

func (a *Agent) durationField(opt string) *caddy.Duration {
	switch opt {
	case "handshake_timeout":
		return &a.HandshakeTimeout
	case "connect_timeout":
		return &a.ConnectTimeout
	}
	return &a.SyncTimeout
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Agent)(nil)
