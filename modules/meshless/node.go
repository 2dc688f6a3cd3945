package meshless

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/mesh"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/policy"
)

// Defaults of Config.
const (
	DefaultRoot             = "/var/run/caddymesh/meshlet"
	DefaultTunnelPort       = 15008
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultConnectTimeout   = 5 * time.Second
	// candidates is how many Pods a new connection tries before it gives up.
	candidates = 3
)

// Config is what a Node needs besides its collections. Only Node is required.
type Config struct {
	// Node is the name of the node the agent serves: Pods whose spec.nodeName is Node are
	// reached through their Unix sockets, all others through the tunnel.
	Node string
	// Root is the folder of the Pods' socket folders, <Root>/<namespace>/<pod>/{client,server}.
	Root string
	// TunnelPort is the port of every node's tunnel listener: a remote Pod's agent is at
	// its status.hostIP and this port.
	TunnelPort int
	// HandshakeTimeout bounds the wait for a client's request.
	HandshakeTimeout time.Duration
	// ConnectTimeout bounds the setting up of the path to the destination, over every
	// candidate Pod.
	ConnectTimeout time.Duration
	// Identity issues the certificates of the tunnel. Without it the node serves calls
	// between Pods of its own node only, and answers others 9, destination unreachable.
	Identity mesh.Identity
	// Conns counts open connections; share one between Nodes that replace each other (a
	// config reload) so that maxConn holds across them. Default: a new table.
	Conns *ConnTable
	// Tunnels are the pooled outbound tunnels; share them like Conns so that a reload keeps
	// the TLS connections. Default: a new pool.
	Tunnels *TunnelPool
	// Logger gets errors; AccessLog gets one line per connection. Default: no logging.
	Logger, AccessLog *zap.Logger
}

// Node is the Meshless node agent's data plane, without Caddy: it answers client
// handshakes, connects them to their destination on this node or through the tunnel, and
// serves the tunnel's inbound side. The Caddy modules of this package wrap it; a Go program
// can use it directly.
type Node struct {
	cfg    Config
	policy *policy.Policy
	pods   collection.Collection[*corev1.Pod]

	closing atomic.Bool
}

// New builds a Node over the mesh's Meshlets and Pods (all of them, not only this node's:
// destinations may be anywhere).
func New(cfg Config, meshlets collection.Collection[*meshlessv1.Meshlet], pods collection.Collection[*corev1.Pod]) (*Node, error) {
	if cfg.Node == "" {
		return nil, errors.New("meshless: the node name is required")
	}
	if cfg.Root == "" {
		cfg.Root = DefaultRoot
	}
	if cfg.TunnelPort == 0 {
		cfg.TunnelPort = DefaultTunnelPort
	}
	if cfg.TunnelPort < 1 || cfg.TunnelPort > 65535 {
		return nil, fmt.Errorf("meshless: tunnel port %d out of range", cfg.TunnelPort)
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Conns == nil {
		cfg.Conns = new(ConnTable)
	}
	if cfg.Tunnels == nil {
		cfg.Tunnels = NewTunnelPool()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.AccessLog == nil {
		cfg.AccessLog = zap.NewNop()
	}
	cfg.Tunnels.setIdentity(cfg.Identity)
	return &Node{cfg: cfg, policy: policy.New(meshlets, pods), pods: pods}, nil
}

// WaitSynced blocks until the Node's view of the mesh is complete, or ctx ends. Calls made
// before may be refused as unknown.
func (n *Node) WaitSynced(ctx context.Context) error { return n.policy.WaitSynced(ctx) }

// Config returns the Node's configuration, with defaults applied.
func (n *Node) Config() Config { return n.cfg }

// Activate makes n the Node that serves this node's traffic: connections accepted by a
// Node it replaces (sharing its Tunnels) are served by n from now on.
func (n *Node) Activate() { n.cfg.Tunnels.active.Store(n) }

// live returns the Node that should decide for a connection n accepted: n, or, once n is
// closed, the Node that replaced it, if any.
func (n *Node) live() *Node {
	if n.closing.Load() {
		if a := n.cfg.Tunnels.active.Load(); a != nil {
			return a
		}
	}
	return n
}

// Close stops the Node: new handshakes are answered 11, shutting down, unless an active
// Node replaced it, and the policy stops following the collections. Open connections are
// left to finish; the listeners are their owners' to close.
func (n *Node) Close() {
	if n.closing.CompareAndSwap(false, true) {
		n.cfg.Tunnels.active.CompareAndSwap(n, nil)
		n.policy.Stop()
	}
}
