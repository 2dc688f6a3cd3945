package meshless

import (
	"fmt"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/mesh"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
	corev1 "k8s.io/api/core/v1"
)

// Settings are the node agent's JSON settings, shared by the mesh.agents.meshless agent and
// the layer4 handlers, which can each run a node's data plane.
type Settings struct {
	// Root is the folder of the Pods' socket folders: <root>/<namespace>/<pod>/client/meshless
	// and <root>/<namespace>/<pod>/server/<service>. Default: /var/run/caddymesh/meshlet.
	Root string `json:"root,omitempty"`
	// TunnelPort is the port of the tunnel between node agents, the same on every node: a
	// Pod on another node is reached at its status.hostIP and this port. Default: 15008.
	TunnelPort int `json:"tunnel_port,omitempty"`
	// HandshakeTimeout is how long a client has to send its request after connecting.
	// Default: 5s.
	HandshakeTimeout caddy.Duration `json:"handshake_timeout,omitempty"`
	// ConnectTimeout bounds the setting up of the path to the destination, over all the
	// Pods tried. Default: 5s.
	ConnectTimeout caddy.Duration `json:"connect_timeout,omitempty"`
	// Source is the source whose collections the agent reads: "merged" for all sources
	// together, or a source's name. Default: merged.
	Source string `json:"source,omitempty"`
}

// shared is the state of one node's data plane that outlives a config reload: connection
// counts and pooled tunnels.
type shared struct {
	conns   *ConnTable
	tunnels *TunnelPool
}

func (s *shared) Destruct() error {
	s.tunnels.Close()
	return nil
}

var sharedPool = caddy.NewUsagePool()

// poolKey names the shared state: nodes of the same name, root and tunnel port are the
// same node across configs.
func (s Settings) poolKey(node string) string {
	return node + "\x00" + s.Root + "\x00" + strconv.Itoa(s.TunnelPort)
}

// newNode builds the node of the app's mesh with these settings; release gives back the
// shared state.
func (s Settings) newNode(app *mesh.App, logger *zap.Logger) (*Node, func(), error) {
	node := app.NodeName()
	if node == "" {
		return nil, nil, fmt.Errorf("the mesh app has no node name: set mesh.node (Caddyfile: mesh { node {env.NODE_NAME} })")
	}
	src := s.Source
	if src == "" {
		src = model.MergedSource
	}
	meshlets, err := mesh.Get[*meshlessv1.Meshlet](app.Registry(), src+"/"+model.Meshlets)
	if err != nil {
		return nil, nil, fmt.Errorf("meshlets of source %q: %w", src, err)
	}
	pods, err := mesh.Get[*corev1.Pod](app.Registry(), src+"/"+model.Pods)
	if err != nil {
		return nil, nil, fmt.Errorf("pods of source %q: %w", src, err)
	}
	key := s.poolKey(node)
	v, _, err := sharedPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		return &shared{conns: new(ConnTable), tunnels: NewTunnelPool()}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	sh := v.(*shared)
	n, err := New(Config{
		Node:             node,
		Root:             s.Root,
		TunnelPort:       s.TunnelPort,
		HandshakeTimeout: time.Duration(s.HandshakeTimeout),
		ConnectTimeout:   time.Duration(s.ConnectTimeout),
		Identity:         app.Identity(),
		Conns:            sh.conns,
		Tunnels:          sh.tunnels,
		Logger:           logger,
		AccessLog:        logger.Named("access"),
	}, meshlets, pods)
	if err != nil {
		_, _ = sharedPool.Delete(key)
		return nil, nil, err
	}
	return n, func() { _, _ = sharedPool.Delete(key) }, nil
}
