package meshless

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/caddymesh/caddymesh/modules/meshless/policy"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// clientSocketName is the listening socket in each Pod's client folder.
const clientSocketName = "meshless"

// serverSocket is where a Pod on this node serves a service.
func (n *Node) serverSocket(ns, pod, service string) string {
	return filepath.Join(n.cfg.Root, ns, pod, "server", service)
}

// dialLocal connects to a Pod of this node through its server socket, counting the
// connection against the service's maxConn for that Pod (this agent is the destination
// agent, whose count is the one that holds).
func (n *Node) dialLocal(ctx context.Context, ep policy.Endpoint, dest policy.Destination) (io.ReadWriteCloser, error) {
	release, ok := n.cfg.Conns.Acquire(ep.Key, dest.ID.Service, dest.MaxConn)
	if !ok {
		return nil, policy.Refuse(protocol.ConnectionLimit, "pod %s holds maxConn=%d connections of %s", ep.Key, dest.MaxConn, dest.ID.Service)
	}
	c, err := dialUnix(ctx, n.serverSocket(ep.Namespace, ep.Name, dest.ID.Service))
	if err != nil {
		release()
		return nil, err
	}
	return &countedConn{UnixConn: c, release: release}, nil
}

// dialUnix dials a server socket and maps failures to reply codes: a socket that is
// missing, refuses, or may not be written to is the destination refusing (8); a deadline
// is a timeout (10); anything else is unreachable (9).
func dialUnix(ctx context.Context, path string) (*net.UnixConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, os.ErrPermission):
			return nil, &policy.Error{Code: protocol.DestinationRefused, Err: err}
		case errors.Is(err, context.DeadlineExceeded), os.IsTimeout(err): // a *net.OpError
			return nil, &policy.Error{Code: protocol.Timeout, Err: err}
		}
		return nil, &policy.Error{Code: protocol.DestinationUnreachable, Err: err}
	}
	return c.(*net.UnixConn), nil
}

// countedConn releases its place in the connection table when closed.
type countedConn struct {
	*net.UnixConn
	release func()
	once    sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.UnixConn.Close()
}
