package kube

import (
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the source from Caddyfile tokens, inside the global mesh
// option. Syntax:
//
//	source kubernetes [<name>] {
//		kubeconfig     <path>
//		context        <name>
//		namespaces     <namespaces...>
//		label_selector <kind> <selector...>
//		node           <node name>
//		kinds          <kinds...>
//	}
//
// The source is named "kubernetes" unless a name is given. label_selector may be repeated,
// once per kind; several selector arguments are joined with commas (all must match).
func (s *Source) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if d.NextArg() {
		s.name = d.Val()
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch opt := d.Val(); opt {
		case "kubeconfig", "context", "node":
			if !d.NextArg() {
				return d.ArgErr()
			}
			val := d.Val()
			if d.NextArg() {
				return d.ArgErr()
			}
			switch opt {
			case "kubeconfig":
				s.Kubeconfig = val
			case "context":
				s.Context = val
			case "node":
				s.Node = val
			}
		case "namespaces":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			s.Namespaces = append(s.Namespaces, args...)
		case "kinds":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, k := range args {
				if _, ok := kindDefByName(k); !ok {
					return d.Errf("unknown kind %q (known: %s)", k, strings.Join(KindNames(), ", "))
				}
			}
			s.Kinds = append(s.Kinds, args...)
		case "label_selector":
			args := d.RemainingArgs()
			if len(args) < 2 {
				return d.Err("label_selector needs a kind and a selector")
			}
			kind := args[0]
			if _, ok := kindDefByName(kind); !ok {
				return d.Errf("label_selector: unknown kind %q (known: %s)", kind, strings.Join(KindNames(), ", "))
			}
			if _, dup := s.LabelSelectors[kind]; dup {
				return d.Errf("label_selector: %s given twice", kind)
			}
			if s.LabelSelectors == nil {
				s.LabelSelectors = make(map[string]string)
			}
			s.LabelSelectors[kind] = strings.Join(args[1:], ",")
		default:
			return d.Errf("unrecognized kubernetes source option %q", opt)
		}
	}
	return nil
}

// CaddyfileName returns the name the Caddyfile gave the source, or "" for the default.
func (s *Source) CaddyfileName() string { return s.name }

var _ caddyfile.Unmarshaler = (*Source)(nil)
