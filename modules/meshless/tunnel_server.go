package meshless

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"

	"github.com/caddymesh/caddymesh/modules/identity"
	"github.com/caddymesh/caddymesh/modules/meshless/policy"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// tunnelServer is the inbound side's HTTP/2 settings: many concurrent streams per peer
// (each is one application connection), and large frames and windows for bulk streams.
var tunnelServer = &http2.Server{
	MaxConcurrentStreams:         1 << 20,
	MaxReadFrameSize:             64 << 10,
	MaxUploadBufferPerConnection: 1 << 30,
	MaxUploadBufferPerStream:     4 << 20,
}

// ServeTunnel serves one inbound tunnel connection from another node's agent: TLS 1.3 with
// a client certificate of the trust domain, then HTTP/2, each CONNECT stream one
// application connection. It returns when the connection ends.
func (n *Node) ServeTunnel(conn net.Conn) error {
	defer conn.Close()
	id := n.cfg.Identity
	if id == nil {
		return fmt.Errorf("tunnel connection from %s: this agent has no mesh identity", conn.RemoteAddr())
	}
	self := identity.NodeID(id.TrustDomain(), n.cfg.Node)
	cfg := identity.ServerConfig(id, self, func(peer identity.ID) error {
		if _, _, ok := peer.Meshlet(); !ok {
			return fmt.Errorf("tunnel peer %s is not a meshlet identity", peer)
		}
		return nil
	})
	cfg.NextProtos = []string{http2.NextProtoTLS}
	cfg.DynamicRecordSizingDisabled = true // full records from the first byte: bulk streams
	raw := newRawConn(conn)
	tc := tls.Server(raw, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		return fmt.Errorf("tunnel TLS handshake with %s: %w", conn.RemoteAddr(), err)
	}
	// The peer is known per connection: HTTP/2 hands a CONNECT request no TLS state (it
	// has no :scheme), and every stream of the connection has the same peer anyway.
	peer, err := identity.PeerID(tc.ConnectionState())
	if err != nil {
		return fmt.Errorf("tunnel peer %s: %w", conn.RemoteAddr(), err)
	}
	n.cfg.Logger.Info("tunnel connection up", zap.String("peer", peer.String()), zap.Stringer("remote", conn.RemoteAddr()))
	tunnelServer.ServeConn(newTunnelConn(tc, raw), &http2.ServeConnOpts{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.live().serveStream(w, r, peer)
	})})
	n.cfg.Logger.Info("tunnel connection down", zap.String("peer", peer.String()), zap.Stringer("remote", conn.RemoteAddr()))
	return nil
}

// serveStream is one tunnelled connection: re-check access for the peer's meshlet, check
// that the named Pod serves the service on this node and has room, dial its socket, answer
// 200, and splice.
func (n *Node) serveStream(w http.ResponseWriter, r *http.Request, peer identity.ID) {
	rec := accessRecord{start: time.Now(), direction: "inbound", path: "local"}
	up, dest, err := n.acceptStream(r, peer, &rec)
	if err != nil {
		rec.code, rec.err = codeOf(err), err
		w.Header().Set(codeHeader, strconv.Itoa(int(rec.code)))
		w.WriteHeader(statusOf(rec.code))
		n.logAccess(rec)
		return
	}
	w.Header().Set(codeHeader, "0")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		up.Close()
		rec.code, rec.err = protocol.GeneralFailure, err
		n.logAccess(rec)
		return
	}
	res := splice(&serverStream{body: r.Body, w: w, rc: rc}, up, dest.IdleTimeout)
	rec.up, rec.down, rec.idle = res.up, res.down, res.idle
	n.logAccess(rec)
}

func (n *Node) acceptStream(r *http.Request, peer identity.ID, rec *accessRecord) (io.ReadWriteCloser, policy.Destination, error) {
	if n.closing.Load() {
		return nil, policy.Destination{}, policy.Refuse(protocol.ShuttingDown, "the node agent is stopping")
	}
	if r.Method != http.MethodConnect {
		return nil, policy.Destination{}, policy.Refuse(protocol.Malformed, "method %s, want CONNECT", r.Method)
	}
	srcNs, srcMeshlet, ok := peer.Meshlet()
	if !ok {
		return nil, policy.Destination{}, policy.Refuse(protocol.NotAllowed, "peer %s is not a meshlet identity", peer)
	}
	rec.source = srcNs + "/" + srcMeshlet
	pod, id, err := parseAuthority(r.Host)
	if err != nil {
		return nil, policy.Destination{}, err
	}
	rec.dest = id.String()
	rec.endpoint = id.Namespace + "/" + pod
	dest, err := n.policy.AuthorizeInbound(srcNs, srcMeshlet, id)
	if err != nil {
		return nil, dest, err
	}
	ep, err := dest.Endpoint(id.Namespace, pod)
	if err != nil {
		return nil, dest, err
	}
	if ep.NodeName != n.cfg.Node {
		return nil, dest, policy.Refuse(protocol.NoEndpoint, "pod %s is on node %q, not on this node %q", ep.Key, ep.NodeName, n.cfg.Node)
	}
	ctx, cancel := context.WithTimeout(r.Context(), n.cfg.ConnectTimeout)
	defer cancel()
	up, err := n.dialLocal(ctx, ep, dest)
	return up, dest, err
}

// parseAuthority splits "<pod>.<service>.<meshlet>.<namespace>". The last three parts are
// DNS labels, without dots, so whatever comes before them is the Pod's name, dots and all.
func parseAuthority(host string) (string, protocol.ServiceID, error) {
	parts := strings.Split(host, ".")
	if len(parts) < 4 {
		return "", protocol.ServiceID{}, policy.Refuse(protocol.Malformed, "tunnel authority %q: want <pod>.<service>.<meshlet>.<namespace>", host)
	}
	k := len(parts) - 3
	id, err := protocol.ParseServiceID(strings.Join(parts[k:], "."))
	if err != nil {
		return "", protocol.ServiceID{}, policy.Refuse(protocol.Malformed, "tunnel authority %q: %v", host, err)
	}
	return strings.Join(parts[:k], "."), id, nil
}

// statusOf is the HTTP status that goes with a refusal, for anyone reading the tunnel with
// HTTP tools; agents read the code header.
func statusOf(c protocol.Code) int {
	switch c {
	case protocol.Malformed, protocol.UnsupportedVersion:
		return http.StatusBadRequest
	case protocol.ServiceNotFound:
		return http.StatusNotFound
	case protocol.NotAllowed:
		return http.StatusForbidden
	case protocol.ConnectionLimit:
		return http.StatusTooManyRequests
	case protocol.DestinationRefused, protocol.DestinationUnreachable:
		return http.StatusBadGateway
	case protocol.Timeout:
		return http.StatusGatewayTimeout
	case protocol.NoEndpoint, protocol.ShuttingDown:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// serverStream is the destination side of a CONNECT stream as a connection. HTTP/2 can end
// the response only by returning from the handler, so it has no CloseWrite: when the
// server's socket reaches EOF the splice closes the stream whole.
type serverStream struct {
	body io.ReadCloser
	w    http.ResponseWriter
	rc   *http.ResponseController
}

func (s *serverStream) Read(p []byte) (int, error) { return s.body.Read(p) }

func (s *serverStream) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, s.rc.Flush()
}

func (s *serverStream) Close() error { return s.body.Close() }

// ServeTunnels accepts inbound tunnel connections on ln until it is closed.
func (n *Node) ServeTunnels(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			n.cfg.Logger.Error("accepting a tunnel connection", zap.Error(err))
			time.Sleep(acceptBackoff)
			continue
		}
		go func() {
			if err := n.ServeTunnel(c); err != nil {
				n.cfg.Logger.Warn("tunnel connection", zap.Error(err))
			}
		}()
	}
}
