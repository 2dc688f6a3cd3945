package meshless

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

func init() {
	caddy.RegisterModule(new(Agent))
}

// Agent is the Meshless node agent, mesh.agents.meshless: a client socket for each local
// Pod of a meshlet, the tunnel listener, and the data plane between them. It runs inside
// the mesh app, from the app's node name, collections and identity:
//
//	"mesh": {"node": "{env.NODE_NAME}", "identity": {"ca": "internal"},
//	         "agents": {"meshless": {"tunnel_port": 15008}}}
//
// A config reload keeps the sockets, the tunnels and the connection counts.
type Agent struct {
	Settings

	// TunnelAddress is the address the tunnel listener binds, without the port. Default: all
	// interfaces. Set it to the node's address (the Pods' status.hostIP) when several
	// agents share a machine, as in examples/meshless-local.
	TunnelAddress string `json:"tunnel_address,omitempty"`

	// SyncTimeout bounds the wait, at start, for the mesh's collections and the first
	// client sockets. A source that syncs later still fills them; until then calls may be
	// refused. Default: 30s.
	SyncTimeout caddy.Duration `json:"sync_timeout,omitempty"`

	ctx     caddy.Context
	logger  *zap.Logger
	node    *Node
	release func()
	sockets *ClientSockets
	tunnel  net.Listener
}

// CaddyModule returns the Caddy module information.
func (*Agent) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "mesh.agents.meshless",
		New: func() caddy.Module { return new(Agent) },
	}
}

// Provision applies defaults; the agent is built in Start, when the mesh app is complete.
func (a *Agent) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.logger = ctx.Logger()
	if a.Root == "" {
		a.Root = DefaultRoot
	}
	if a.TunnelPort == 0 {
		a.TunnelPort = DefaultTunnelPort
	}
	if a.SyncTimeout == 0 {
		a.SyncTimeout = caddy.Duration(30 * time.Second)
	}
	return nil
}

// Validate checks the settings.
func (a *Agent) Validate() error {
	if a.TunnelPort < 1 || a.TunnelPort > 65535 {
		return fmt.Errorf("tunnel_port %d out of range", a.TunnelPort)
	}
	if !filepath.IsAbs(a.Root) {
		return fmt.Errorf("root %q must be an absolute path", a.Root)
	}
	return nil
}

// Start builds the node, opens the tunnel listener, then the client sockets, and waits for
// them: on a reload the previous config's agent is stopped right after, and its sockets
// must already be shared with this one by then.
func (a *Agent) Start(app *mesh.App) error {
	if err := a.start(app); err != nil {
		_ = a.Stop() // Caddy stops only apps that started
		return err
	}
	return nil
}

func (a *Agent) start(app *mesh.App) error {
	if err := os.MkdirAll(a.Root, 0o755); err != nil {
		return fmt.Errorf("creating the socket root: %w", err)
	}
	n, release, err := a.Settings.newNode(app, a.logger)
	if err != nil {
		return err
	}
	a.node, a.release = n, release
	ctx, cancel := context.WithTimeout(a.ctx, time.Duration(a.SyncTimeout))
	defer cancel()
	if err := n.WaitSynced(ctx); err != nil {
		a.logger.Warn("starting before the mesh's collections synced", zap.Error(err))
	}
	// Only now take over from the config this one replaces: its connections move here.
	n.Activate()
	if app.Identity() != nil {
		addr := caddy.NetworkAddress{Network: "tcp", Host: a.TunnelAddress, StartPort: uint(a.TunnelPort), EndPort: uint(a.TunnelPort)}
		ln, err := addr.Listen(a.ctx, 0, net.ListenConfig{})
		if err != nil {
			return fmt.Errorf("opening the tunnel listener on %s: %w", net.JoinHostPort(a.TunnelAddress, strconv.Itoa(a.TunnelPort)), err)
		}
		a.tunnel = ln.(net.Listener)
		go n.ServeTunnels(a.tunnel)
	} else {
		a.logger.Warn("no mesh identity: serving calls between Pods of this node only")
	}
	a.sockets = n.ServeClientSockets(a.listenUnix)
	if err := a.sockets.WaitSynced(ctx); err != nil {
		a.logger.Warn("client sockets not all open yet", zap.Error(err))
	}
	a.logger.Info("meshless node agent started",
		zap.String("node", n.cfg.Node), zap.String("root", a.Root), zap.Int("tunnel_port", a.TunnelPort),
		zap.Int("client_sockets", len(a.sockets.Running())))
	return nil
}

// listenUnix opens a socket through Caddy's listener pool, which hands the same socket to
// the next config on a reload instead of unlinking and recreating it.
func (a *Agent) listenUnix(path string) (net.Listener, error) {
	ln, err := caddy.NetworkAddress{Network: "unix", Host: path}.Listen(a.ctx, 0, net.ListenConfig{})
	if err != nil {
		return nil, err
	}
	return ln.(net.Listener), nil
}

// Stop closes this config's listeners (the sockets stay open if the next config shares
// them) and answers handshakes still in progress 11, shutting down. Connections already
// set up run on.
func (a *Agent) Stop() error {
	if a.sockets != nil {
		a.sockets.Stop()
	}
	if a.tunnel != nil {
		_ = a.tunnel.Close()
	}
	if a.node != nil {
		a.node.Close()
	}
	return nil
}

// Cleanup gives back the shared state: the tunnels close when no config uses them.
func (a *Agent) Cleanup() error {
	if a.release != nil {
		a.release()
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner  = (*Agent)(nil)
	_ caddy.Validator    = (*Agent)(nil)
	_ caddy.CleanerUpper = (*Agent)(nil)
	_ mesh.Agent         = (*Agent)(nil)
)
