package identity

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the internal CA from the identity block of the global mesh
// option. Syntax:
//
//	identity {
//		ca            internal
//		trust_domain  <domain>
//		authority     <pki-ca-id>
//		lifetime      <duration>
//		trusted_roots <pem-files...>
//	}
//
// The "ca" line names the module; the caller chooses the module by it, and this
// unmarshaler accepts "ca internal" and nothing else. trusted_roots may repeat.
func (in *Internal) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the block's name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch opt := d.Val(); opt {
		case "ca":
			var ca string
			if !d.AllArgs(&ca) {
				return d.ArgErr()
			}
			if ca != "internal" {
				return d.Errf("ca %q: this block configures the internal CA", ca)
			}
		case "trust_domain":
			if !d.AllArgs(&in.TrustDomainName) {
				return d.ArgErr()
			}
		case "authority":
			if !d.AllArgs(&in.Authority) {
				return d.ArgErr()
			}
		case "lifetime":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(s)
			if err != nil {
				return d.Errf("bad lifetime %q: %v", s, err)
			}
			if dur < time.Duration(MinLifetime) {
				return d.Errf("lifetime %s is shorter than %s", s, time.Duration(MinLifetime))
			}
			in.Lifetime = caddy.Duration(dur)
		case "trusted_roots":
			files := d.RemainingArgs()
			if len(files) == 0 {
				return d.ArgErr()
			}
			in.TrustedRootsPEMFiles = append(in.TrustedRootsPEMFiles, files...)
		default:
			return d.Errf("unrecognized identity option %q", opt)
		}
	}
	return nil
}

// UnmarshalCaddyfile sets up the certificate getter. Syntax:
//
//	get_certificate mesh [<spiffe-id>] {
//		id        <spiffe-id>
//		namespace <namespace>
//		meshlet   <meshlet>
//		node      <node>
//	}
//
// Give the SPIFFE ID, or namespace and meshlet, or node.
func (g *CertGetter) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if d.NextArg() {
		g.ID = d.Val()
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	for d.NextBlock(0) {
		var field *string
		switch d.Val() {
		case "id":
			field = &g.ID
		case "namespace":
			field = &g.Namespace
		case "meshlet":
			field = &g.Meshlet
		case "node":
			field = &g.Node
		default:
			return d.Errf("unrecognized get_certificate mesh option %q", d.Val())
		}
		if !d.AllArgs(field) {
			return d.ArgErr()
		}
	}
	if g.ID == "" && g.Node == "" && (g.Namespace == "" || g.Meshlet == "") {
		return d.Err("get_certificate mesh needs a SPIFFE ID, namespace and meshlet, or node")
	}
	return nil
}

// UnmarshalCaddyfile sets up the trust pool. Syntax:
//
//	trust_pool mesh
func (*CAPool) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if d.NextArg() {
		return d.ArgErr()
	}
	if d.NextBlock(0) {
		return d.Errf("trust_pool mesh takes no options, got %q", d.Val())
	}
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Internal)(nil)
	_ caddyfile.Unmarshaler = (*CertGetter)(nil)
	_ caddyfile.Unmarshaler = (*CAPool)(nil)
)
