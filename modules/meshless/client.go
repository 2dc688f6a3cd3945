package meshless

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/meshless/policy"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// ServeClient handles one application connection accepted on a Pod's client socket, from
// the handshake to the end of the spliced stream, and closes it. The calling Pod is the one
// whose socket accepted the connection (conn.LocalAddr(), <root>/<ns>/<pod>/client/meshless),
// so an application cannot claim another Pod's identity.
func (n *Node) ServeClient(conn net.Conn) error {
	start := time.Now()
	rec := accessRecord{start: start, direction: "outbound"}
	defer conn.Close()

	ns, pod, err := n.clientPod(conn.LocalAddr())
	if err != nil {
		rec.code, rec.err = protocol.GeneralFailure, err
		_ = protocol.WriteReply(conn, rec.code)
		n.logAccess(rec)
		return err
	}
	rec.sourcePod = ns + "/" + pod

	_ = conn.SetReadDeadline(start.Add(n.cfg.HandshakeTimeout))
	id, err := protocol.ReadRequest(conn)
	if err != nil {
		if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil // closed before saying anything: nothing to answer
		}
		rec.code, rec.err = protocol.CodeOf(err), err
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = protocol.WriteReply(conn, rec.code)
		n.logAccess(rec)
		return nil
	}
	rec.dest = id.String()

	up, dest, err := n.live().connect(ns, pod, id, &rec)
	if err != nil {
		rec.code, rec.err = codeOf(err), err
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = protocol.WriteReply(conn, rec.code)
		n.logAccess(rec)
		return nil
	}
	_ = conn.SetReadDeadline(time.Time{})
	if err := protocol.WriteReply(conn, protocol.OK); err != nil {
		up.Close()
		rec.code, rec.err = protocol.GeneralFailure, fmt.Errorf("writing the reply: %w", err)
		n.logAccess(rec)
		return nil
	}
	res := splice(conn, up, dest.IdleTimeout)
	rec.up, rec.down, rec.idle = res.up, res.down, res.idle
	n.logAccess(rec)
	return nil
}

// clientPod finds the Pod whose client socket addr is: <root>/<ns>/<pod>/client/meshless.
func (n *Node) clientPod(addr net.Addr) (ns, pod string, err error) {
	if addr == nil || addr.Network() != "unix" {
		return "", "", fmt.Errorf("client connection on %v: not a Unix socket of a Pod", addr)
	}
	rel, err := filepath.Rel(n.cfg.Root, addr.String())
	if err == nil {
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) == 4 && parts[2] == "client" && parts[3] == clientSocketName && parts[0] != ".." {
			return parts[0], parts[1], nil
		}
	}
	return "", "", fmt.Errorf("client connection on %s: not <root>/<namespace>/<pod>/client/%s under %s", addr, clientSocketName, n.cfg.Root)
}

// connect authorizes the call and sets up the path to one of the destination's Pods. The
// returned stream carries the application's bytes; its accounting ends when it is closed.
func (n *Node) connect(ns, pod string, id protocol.ServiceID, rec *accessRecord) (io.ReadWriteCloser, policy.Destination, error) {
	if n.closing.Load() {
		return nil, policy.Destination{}, policy.Refuse(protocol.ShuttingDown, "the node agent is stopping")
	}
	caller, err := n.policy.Caller(ns, pod)
	if err != nil {
		return nil, policy.Destination{}, err
	}
	rec.source = caller.Namespace + "/" + caller.Meshlet
	dest, err := n.policy.Authorize(caller, id)
	if err != nil {
		return nil, dest, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ConnectTimeout)
	defer cancel()
	up, err := n.dialService(ctx, caller.Namespace, caller.Meshlet, dest, rec)
	return up, dest, err
}

// dialService tries the destination's best candidates in order until one takes the
// connection. A full Pod (7), a refused or missing socket (8) and an unreachable agent (9)
// move on to the next candidate; the last refusal is the answer.
func (n *Node) dialService(ctx context.Context, srcNs, srcMeshlet string, dest policy.Destination, rec *accessRecord) (io.ReadWriteCloser, error) {
	var buf [candidates]policy.Endpoint
	eps, err := dest.Pick(buf[:0], candidates, n.cfg.Conns, nil)
	if err != nil {
		return nil, err
	}
	for _, ep := range eps {
		var up io.ReadWriteCloser
		if ep.NodeName == n.cfg.Node {
			rec.path = "local"
			up, err = n.dialLocal(ctx, ep, dest)
		} else {
			rec.path = "tunnel"
			up, err = n.dialTunnel(ctx, srcNs, srcMeshlet, ep, dest)
		}
		rec.endpoint = ep.Key
		if err == nil {
			return up, nil
		}
		n.cfg.Logger.Debug("candidate refused", zap.String("endpoint", ep.Key), zap.Error(err))
		if ctx.Err() != nil {
			return nil, policy.Refuse(protocol.Timeout, "setting up %s within %s: %v", dest.ID, n.cfg.ConnectTimeout, err)
		}
		switch codeOf(err) {
		case protocol.ConnectionLimit, protocol.DestinationRefused, protocol.DestinationUnreachable, protocol.NoEndpoint:
			continue
		}
		return nil, err
	}
	return nil, err
}

// codeOf is the reply code of any error of the connection path.
func codeOf(err error) protocol.Code {
	if c := policy.CodeOf(err); c != protocol.GeneralFailure {
		return c
	}
	return protocol.CodeOf(err)
}

// Forward connects conn, which has no handshake of its own, to the service id on behalf of
// the meshlet srcNamespace/srcMeshlet, with the same checks as a client call: the
// mesh_tunnel handler's way into the mesh for plain TCP. It closes conn when done.
func (n *Node) Forward(conn net.Conn, srcNamespace, srcMeshlet string, id protocol.ServiceID) error {
	rec := accessRecord{start: time.Now(), direction: "outbound", source: srcNamespace + "/" + srcMeshlet, dest: id.String()}
	defer conn.Close()
	n = n.live()
	if n.closing.Load() {
		rec.code, rec.err = protocol.ShuttingDown, policy.Refuse(protocol.ShuttingDown, "the node agent is stopping")
		n.logAccess(rec)
		return rec.err
	}
	dest, err := n.policy.AuthorizeInbound(srcNamespace, srcMeshlet, id)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ConnectTimeout)
		var up io.ReadWriteCloser
		up, err = n.dialService(ctx, srcNamespace, srcMeshlet, dest, &rec)
		cancel()
		if err == nil {
			res := splice(conn, up, dest.IdleTimeout)
			rec.up, rec.down, rec.idle = res.up, res.down, res.idle
			n.logAccess(rec)
			return nil
		}
	}
	rec.code, rec.err = codeOf(err), err
	n.logAccess(rec)
	return err
}
