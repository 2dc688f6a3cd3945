package mesh

import (
	"context"
	"crypto/tls"
	"crypto/x509"
)

// Identity is implemented by the guest modules in namespace mesh.identity: where the mesh's
// workload certificates come from. modules/identity provides mesh.identity.internal, an
// embedded CA; a remote CA (the control plane's certificate service) plugs in the same way.
//
// Consumers (the node agent's tunnel, the tls.get_certificate.mesh and
// tls.ca_pool.source.mesh modules) use only this interface, so they work with any CA.
type Identity interface {
	// TrustDomain is the SPIFFE trust domain of the certificates it issues, such as
	// "cluster.local".
	TrustDomain() string
	// Certificate returns the current certificate, with its chain and key, for a SPIFFE ID
	// of the trust domain ("spiffe://<trust-domain>/..."). The first call for an ID issues
	// one; later calls return the cached one, which the provider renews in the background
	// before it expires. Callers should ask again for each new TLS handshake rather than
	// keep the result, so that a renewal takes effect.
	Certificate(ctx context.Context, spiffeID string) (*tls.Certificate, error)
	// TrustBundle returns the roots that peer certificates must chain to. During a root
	// rotation it holds both the old and the new root. The pool must not be modified.
	TrustBundle() *x509.CertPool
}

// Agent is implemented by the guest modules in namespace mesh.agents: long-running parts of a
// node, such as the Meshless node agent (mesh.agents.meshless), that work from the app's
// collections, node name and identity. The app provisions them after its sources and
// identity, starts them in its Start and stops them in its Stop; their Provision cannot ask
// the context for the mesh app (it is still being provisioned), so they get it here.
type Agent interface {
	// Start runs the agent with the provisioned app.
	Start(app *App) error
	// Stop stops taking new work. State that should outlive a config reload (listeners,
	// tunnels) is kept in a caddy.UsagePool and released in the module's Cleanup.
	Stop() error
}
