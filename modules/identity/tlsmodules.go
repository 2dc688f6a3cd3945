package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
	"github.com/caddyserver/certmagic"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

func init() {
	caddy.RegisterModule(new(CertGetter))
	caddy.RegisterModule(new(CAPool))
}

// CertGetter serves a mesh workload certificate in any Caddy TLS handshake: put it in an
// automation policy's get_certificate list. The certificate comes from the mesh app's
// identity (apps.mesh.identity) and is renewed by it; each handshake gets the current one.
// Give the SPIFFE ID in full, or its parts: namespace and meshlet, or node.
type CertGetter struct {
	// ID is the SPIFFE ID to serve, such as "spiffe://cluster.local/node/node-1". Default:
	// built from the fields below in the identity's trust domain.
	ID string `json:"id,omitempty"`

	// Namespace and Meshlet name a meshlet's identity,
	// spiffe://<trust domain>/ns/<namespace>/meshlet/<meshlet>. Default: none.
	Namespace string `json:"namespace,omitempty"`
	Meshlet   string `json:"meshlet,omitempty"`

	// Node names a node agent's identity, spiffe://<trust domain>/node/<node>, for example
	// "{env.NODE_NAME}". Default: none.
	Node string `json:"node,omitempty"`

	provider mesh.Identity
	id       string
}

// CaddyModule returns the Caddy module information.
func (*CertGetter) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "tls.get_certificate.mesh",
		New: func() caddy.Module { return new(CertGetter) },
	}
}

// Provision gets the mesh identity and resolves the SPIFFE ID.
func (g *CertGetter) Provision(ctx caddy.Context) error {
	p, err := meshIdentity(ctx)
	if err != nil {
		return err
	}
	g.provider = p
	repl := caddy.NewReplacer()
	g.ID = repl.ReplaceKnown(g.ID, "")
	g.Namespace = repl.ReplaceKnown(g.Namespace, "")
	g.Meshlet = repl.ReplaceKnown(g.Meshlet, "")
	g.Node = repl.ReplaceKnown(g.Node, "")

	var id ID
	switch {
	case g.ID != "" && g.Namespace == "" && g.Meshlet == "" && g.Node == "":
		if id, err = ParseID(g.ID); err != nil {
			return err
		}
	case g.ID == "" && g.Namespace != "" && g.Meshlet != "" && g.Node == "":
		id = MeshletID(p.TrustDomain(), g.Namespace, g.Meshlet)
	case g.ID == "" && g.Namespace == "" && g.Meshlet == "" && g.Node != "":
		id = NodeID(p.TrustDomain(), g.Node)
	default:
		return errors.New("set exactly one of: id; namespace and meshlet; node")
	}
	// Built IDs are checked too: a name with a '/' or an upper-case trust domain would
	// otherwise fail only at the first handshake.
	if id, err = ParseID(id.String()); err != nil {
		return err
	}
	if id.Path == "" {
		return fmt.Errorf("SPIFFE ID %s names the trust domain, not a workload", id)
	}
	if id.TrustDomain != p.TrustDomain() {
		return fmt.Errorf("SPIFFE ID %s is not in the mesh identity's trust domain %q", id, p.TrustDomain())
	}
	g.id = id.String()
	return nil
}

// GetCertificate returns the current certificate of the configured SPIFFE ID.
func (g *CertGetter) GetCertificate(ctx context.Context, _ *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return g.provider.Certificate(ctx, g.id)
}

// CAPool is a TLS trust pool of the mesh identity's trust bundle, for example to verify
// client certificates of mesh workloads in a server's client_authentication.
type CAPool struct {
	provider mesh.Identity
}

// CaddyModule returns the Caddy module information.
func (*CAPool) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "tls.ca_pool.source.mesh",
		New: func() caddy.Module { return new(CAPool) },
	}
}

// Provision gets the mesh identity.
func (cp *CAPool) Provision(ctx caddy.Context) error {
	p, err := meshIdentity(ctx)
	if err != nil {
		return err
	}
	cp.provider = p
	return nil
}

// CertPool returns the mesh identity's trust bundle.
func (cp *CAPool) CertPool() *x509.CertPool { return cp.provider.TrustBundle() }

// Certificates returns the bundle's roots if the identity lists them (as Internal does),
// so that the pool can be combined with others.
func (cp *CAPool) Certificates() []*x509.Certificate {
	if r, ok := cp.provider.(interface{ Roots() []*x509.Certificate }); ok {
		return r.Roots()
	}
	return nil
}

func meshIdentity(ctx caddy.Context) (mesh.Identity, error) {
	app, err := mesh.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	p := app.Identity()
	if p == nil {
		return nil, errors.New("the mesh app has no identity configured (apps.mesh.identity)")
	}
	return p, nil
}

// Interface guards
var (
	_ caddy.Provisioner            = (*CertGetter)(nil)
	_ certmagic.Manager            = (*CertGetter)(nil)
	_ caddy.Provisioner            = (*CAPool)(nil)
	_ caddytls.CA                  = (*CAPool)(nil)
	_ caddytls.CertificateProvider = (*CAPool)(nil)
)
