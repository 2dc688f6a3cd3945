package policy

import (
	"time"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// Destination is an authorized service: what the later steps of a connection need, taken
// from one snapshot of the destination meshlet.
type Destination struct {
	// ID is the service that was asked for.
	ID protocol.ServiceID
	// Server is the destination meshlet's spec.server. It is the Policy's copy, shared by
	// every connection: read it, never modify it.
	Server *meshlessv1.Server
	// MaxConn is the service's maxConn, concurrent connections per Pod; 0 means no limit.
	MaxConn int
	// IdleTimeout closes a connection idle this long in both directions; 0 means never.
	IdleTimeout time.Duration

	b *backend // the snapshot the endpoints are picked from
}

// Authorize decides whether the caller may connect to the service dest. The service must
// exist, else protocol.ServiceNotFound; the caller's Meshlet must list it in spec.client,
// else protocol.NotAllowed. The lookup comes first, as the issue orders them, so a caller
// learns that a service it may not use exists (service IDs are not secret: they are in
// every client list that names them).
func (p *Policy) Authorize(c Caller, dest protocol.ServiceID) (Destination, error) {
	if c.m == nil {
		return Destination{}, Refuse(protocol.NotAllowed, "no calling meshlet")
	}
	return p.authorize(c.m, dest)
}

// AuthorizeInbound is Authorize for the destination's agent, which re-checks a tunnelled
// connection: it knows the calling meshlet from the peer's certificate, not from a Pod. A
// source meshlet that does not exist is not allowed.
func (p *Policy) AuthorizeInbound(sourceNamespace, sourceMeshlet string, dest protocol.ServiceID) (Destination, error) {
	m, ok := p.meshlets.Get(sourceNamespace + "/" + sourceMeshlet)
	if !ok {
		return Destination{}, Refuse(protocol.NotAllowed, "calling meshlet %s/%s does not exist", sourceNamespace, sourceMeshlet)
	}
	return p.authorize(m, dest)
}

func (p *Policy) authorize(caller *meshlet, dest protocol.ServiceID) (Destination, error) {
	b, ok := p.backends.Get(dest.Namespace + "/" + dest.Meshlet)
	if !ok {
		return Destination{}, Refuse(protocol.ServiceNotFound, "service %s: meshlet %s/%s does not exist", dest, dest.Namespace, dest.Meshlet)
	}
	svc, ok := b.m.services[dest.Service]
	if !ok {
		return Destination{}, Refuse(protocol.ServiceNotFound, "service %s: meshlet %s/%s does not serve %q", dest, dest.Namespace, dest.Meshlet, dest.Service)
	}
	if _, ok := caller.clients[dest]; !ok {
		return Destination{}, Refuse(protocol.NotAllowed, "meshlet %s does not list service %s in spec.client", caller.key, dest)
	}
	return Destination{ID: dest, Server: b.m.server, MaxConn: svc.maxConn, IdleTimeout: svc.idleTimeout, b: b}, nil
}

// Endpoint returns the named Pod if it is a serving Pod of the destination: the destination
// agent checks this before dialling the socket that a tunnelled connection names, so that
// a peer allowed to reach one meshlet cannot reach another Pod's sockets on the node. Any
// ready selected Pod qualifies, whatever its canary weight, since a source agent may have
// picked it just before the weights changed. Otherwise the answer is protocol.NoEndpoint,
// on which the source agent tries its next candidate.
func (d Destination) Endpoint(podNamespace, podName string) (Endpoint, error) {
	if d.b != nil && podNamespace == d.ID.Namespace {
		if ep, ok := d.b.all[podName]; ok {
			return ep, nil
		}
	}
	return Endpoint{}, Refuse(protocol.NoEndpoint, "pod %s/%s is not a ready pod of service %s", podNamespace, podName, d.ID)
}

// Full reports whether a Pod holding active connections of the service can take no more:
// the destination agent's re-check of maxConn, with its own count.
func (d Destination) Full(active int) bool { return d.MaxConn > 0 && active >= d.MaxConn }
