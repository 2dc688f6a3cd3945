package file

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the source from Caddyfile tokens, inside the global mesh
// option. Syntax:
//
//	source file [<paths...>] {
//		name     <name>
//		paths    <paths...>
//		debounce <duration>
//		watch    on|off
//	}
//
// The source is named "file" unless name says otherwise.
func (s *Source) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	s.Paths = append(s.Paths, d.RemainingArgs()...)
	for d.NextBlock(0) {
		switch d.Val() {
		case "name":
			if !d.NextArg() {
				return d.ArgErr()
			}
			s.name = d.Val()
			if d.NextArg() {
				return d.ArgErr()
			}
		case "paths":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			s.Paths = append(s.Paths, args...)
		case "debounce":
			if !d.NextArg() {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil {
				return d.Errf("bad debounce %q: %v", d.Val(), err)
			}
			if dur <= 0 {
				return d.Errf("debounce must be positive, got %s", d.Val())
			}
			s.Debounce = caddy.Duration(dur)
			if d.NextArg() {
				return d.ArgErr()
			}
		case "watch":
			if !d.NextArg() {
				return d.ArgErr()
			}
			switch d.Val() {
			case "on":
				on := true
				s.Watch = &on
			case "off":
				off := false
				s.Watch = &off
			default:
				return d.Errf("watch must be on or off, got %q", d.Val())
			}
			if d.NextArg() {
				return d.ArgErr()
			}
		default:
			return d.Errf("unrecognized file source option %q", d.Val())
		}
	}
	if len(s.Paths) == 0 {
		return d.Err("file source needs at least one path")
	}
	return nil
}

// CaddyfileName returns the name the Caddyfile gave the source, or "" for the default.
func (s *Source) CaddyfileName() string { return s.name }

var _ caddyfile.Unmarshaler = (*Source)(nil)
