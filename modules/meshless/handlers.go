package meshless

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/mholt/caddy-l4/layer4"
	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

func init() {
	caddy.RegisterModule(new(ClientHandler))
	caddy.RegisterModule(new(InboundHandler))
	caddy.RegisterModule(new(TunnelHandler))
}

// handlerSyncTimeout bounds a handler's wait for the collections at provisioning.
const handlerSyncTimeout = 10 * time.Second

// handlerBase builds the node that a layer4 handler serves with. The handlers run the same
// data plane as mesh.agents.meshless, for configs that place the sockets and the tunnel
// port in layer4 servers of their own.
type handlerBase struct {
	Settings

	node    *Node
	release func()
}

func (h *handlerBase) provision(ctx caddy.Context, logger *zap.Logger) error {
	app, err := mesh.FromContext(ctx)
	if err != nil {
		return err
	}
	h.node, h.release, err = h.Settings.newNode(app, logger)
	if err != nil {
		return err
	}
	// Handlers have no Start: wait here, bounded, so that the first connections are not
	// refused by a view still filling.
	wait, cancel := context.WithTimeout(ctx, handlerSyncTimeout)
	defer cancel()
	if err := h.node.WaitSynced(wait); err != nil {
		logger.Warn("handler provisioned before the mesh's collections synced", zap.Error(err))
	}
	h.node.Activate()
	return nil
}

// Cleanup stops the handler's node and gives back the shared state.
func (h *handlerBase) Cleanup() error {
	if h.node != nil {
		h.node.Close()
	}
	if h.release != nil {
		h.release()
	}
	return nil
}

// ClientHandler is layer4.handlers.meshless: the client handshake on a Pod's client socket.
// The layer4 server must listen on Unix sockets at <root>/<namespace>/<pod>/client/meshless:
// the calling Pod is the one whose socket accepted the connection. It is a terminal
// handler: it answers, connects and splices.
type ClientHandler struct{ handlerBase }

// CaddyModule returns the Caddy module information.
func (*ClientHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "layer4.handlers.meshless", New: func() caddy.Module { return new(ClientHandler) }}
}

// Provision builds the node from the mesh app.
func (h *ClientHandler) Provision(ctx caddy.Context) error { return h.provision(ctx, ctx.Logger()) }

// Handle serves the connection.
func (h *ClientHandler) Handle(cx *layer4.Connection, _ layer4.Handler) error {
	return h.node.ServeClient(l4conn{cx})
}

// InboundHandler is layer4.handlers.mesh_inbound: the tunnel's inbound side on a TCP
// listener at the tunnel port. It terminates mTLS (TLS 1.3, a client certificate of the
// trust domain required), re-checks access, and dials the destination Pod's socket.
type InboundHandler struct{ handlerBase }

// CaddyModule returns the Caddy module information.
func (*InboundHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "layer4.handlers.mesh_inbound", New: func() caddy.Module { return new(InboundHandler) }}
}

// Provision builds the node from the mesh app, which must have an identity.
func (h *InboundHandler) Provision(ctx caddy.Context) error {
	if err := h.provision(ctx, ctx.Logger()); err != nil {
		return err
	}
	if h.node.cfg.Identity == nil {
		return fmt.Errorf("mesh_inbound needs the mesh app's identity (mesh.identity)")
	}
	return nil
}

// Handle serves the tunnel connection until it ends.
func (h *InboundHandler) Handle(cx *layer4.Connection, _ layer4.Handler) error {
	return h.node.ServeTunnel(cx)
}

// TunnelHandler is layer4.handlers.mesh_tunnel: it carries a plain connection, with no
// handshake, to a mesh service on behalf of a meshlet, through the same access checks,
// endpoint choice and tunnel as a client call. Use it to bring TCP from outside into the
// mesh.
type TunnelHandler struct {
	handlerBase

	// Service is the destination service ID, <service>.<meshlet>.<namespace>. Required.
	Service string `json:"service,omitempty"`
	// Namespace and Meshlet name the meshlet the connections are made for: its client list
	// must allow Service, and its identity is presented on the tunnel. Required.
	Namespace string `json:"namespace,omitempty"`
	Meshlet   string `json:"meshlet,omitempty"`

	id protocol.ServiceID
}

// CaddyModule returns the Caddy module information.
func (*TunnelHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "layer4.handlers.mesh_tunnel", New: func() caddy.Module { return new(TunnelHandler) }}
}

// Provision parses the service and builds the node.
func (h *TunnelHandler) Provision(ctx caddy.Context) error {
	id, err := protocol.ParseServiceID(h.Service)
	if err != nil {
		return fmt.Errorf("mesh_tunnel service: %w", err)
	}
	h.id = id
	if h.Namespace == "" || h.Meshlet == "" {
		return fmt.Errorf("mesh_tunnel needs the namespace and meshlet it calls for")
	}
	return h.provision(ctx, ctx.Logger())
}

// Handle carries the connection to the service.
func (h *TunnelHandler) Handle(cx *layer4.Connection, _ layer4.Handler) error {
	err := h.node.Forward(l4conn{cx}, h.Namespace, h.Meshlet, h.id)
	if err != nil {
		return fmt.Errorf("mesh_tunnel to %s: %w", h.id, err)
	}
	return nil
}

// l4conn lets a layer4 connection half-close when the connection under it can, which
// embedding net.Conn hides.
type l4conn struct{ *layer4.Connection }

func (c l4conn) CloseWrite() error {
	if hc, ok := c.Connection.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return fmt.Errorf("connection %T cannot half-close", c.Connection.Conn)
}

var _ net.Conn = l4conn{}

// Interface guards
var (
	_ caddy.Provisioner  = (*ClientHandler)(nil)
	_ caddy.CleanerUpper = (*ClientHandler)(nil)
	_ layer4.NextHandler = (*ClientHandler)(nil)
	_ caddy.Provisioner  = (*InboundHandler)(nil)
	_ layer4.NextHandler = (*InboundHandler)(nil)
	_ caddy.Provisioner  = (*TunnelHandler)(nil)
	_ layer4.NextHandler = (*TunnelHandler)(nil)
)
