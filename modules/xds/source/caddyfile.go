package source

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the source from Caddyfile tokens, inside the global mesh
// option. Syntax:
//
//	source xds <name> <address> {
//		node     <id> [<cluster>]
//		locality <region> [<zone> [<subzone>]]
//		delta    on|off
//		auth     bearer <token>
//		auth     bearer_file <path>
//		auth     mtls <cert> <key> <ca>
//		subscribe <lds|cds|rds|eds|sds|type-url> [<names...>]
//		auto_subscribe on|off
//		resource_limit <n>
//		resource_timeout <duration>
//	}
func (s *Source) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	s.Node, s.Auth = new(NodeConfig), new(AuthConfig)
	defer func() {
		// Leave empty settings out of the JSON.
		if n := *s.Node; n.ID == "" && n.Cluster == "" && n.Region == "" && n.Zone == "" && n.SubZone == "" {
			s.Node = nil
		}
		if *s.Auth == (AuthConfig{}) {
			s.Auth = nil
		}
	}()
	if !d.Args(&s.name, &s.Server) {
		return d.Err("xds source needs a name and a server address: source xds <name> <address>")
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		var err error
		switch d.Val() {
		case "node":
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.ArgErr()
			}
			s.Node.ID = args[0]
			if len(args) == 2 {
				s.Node.Cluster = args[1]
			}
		case "locality":
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 3 {
				return d.ArgErr()
			}
			args = append(args, "", "")
			s.Node.Region, s.Node.Zone, s.Node.SubZone = args[0], args[1], args[2]
		case "delta":
			s.Delta, err = onOff(d, "delta")
		case "auto_subscribe":
			s.AutoSubscribe, err = onOff(d, "auto_subscribe")
		case "auth":
			err = s.unmarshalAuth(d)
		case "subscribe":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			if _, err := parseType(args[0]); err != nil {
				return d.Err(err.Error())
			}
			s.Subscribe = append(s.Subscribe, Subscription{Type: args[0], Names: args[1:]})
		case "resource_limit":
			if !d.NextArg() {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(d.Val())
			if err != nil || n < 0 {
				return d.Errf("resource_limit must be a non-negative integer, got %q", d.Val())
			}
			s.ResourceLimit = n
		case "resource_timeout":
			if !d.NextArg() {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil || dur <= 0 {
				return d.Errf("resource_timeout must be a positive duration, got %q", d.Val())
			}
			s.ResourceTimeout = caddy.Duration(dur)
		default:
			return d.Errf("unrecognized xds source option %q", d.Val())
		}
		if err != nil {
			return err
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	return nil
}

func (s *Source) unmarshalAuth(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	switch mode := d.Val(); mode {
	case "bearer":
		s.Auth.Mode = "bearer"
		if !d.Args(&s.Auth.Token) {
			return d.ArgErr()
		}
	case "bearer_file":
		s.Auth.Mode = "bearer"
		if !d.Args(&s.Auth.TokenFile) {
			return d.ArgErr()
		}
	case "mtls":
		s.Auth.Mode = "mtls"
		if !d.Args(&s.Auth.Cert, &s.Auth.Key, &s.Auth.CA) {
			return d.ArgErr()
		}
	default:
		return d.Errf("auth must be bearer, bearer_file or mtls, got %q", mode)
	}
	return nil
}

func onOff(d *caddyfile.Dispenser, option string) (*bool, error) {
	if !d.NextArg() {
		return nil, d.ArgErr()
	}
	var v bool
	switch d.Val() {
	case "on":
		v = true
	case "off":
	default:
		return nil, d.Errf("%s must be on or off, got %q", option, d.Val())
	}
	return &v, nil
}

var _ caddyfile.Unmarshaler = (*Source)(nil)
