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
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"github.com/caddymesh/caddymesh/modules/identity"
	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/meshless/policy"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// codeHeader carries the destination agent's reply code back through the tunnel, so the
// source agent answers the application exactly what the destination decided.
const codeHeader = "Meshless-Code"

// TunnelPool holds the outbound side of the tunnel: one HTTP/2 client per source identity,
// each pooling one TLS connection per destination agent. A new tunnelled connection is then
// a CONNECT stream on a connection already up, not a TLS handshake. Every TLS handshake asks
// the identity for the current certificate, so a renewal takes effect on the next
// connection while established ones continue.
type TunnelPool struct {
	identity atomic.Pointer[identityRef]
	// active is the Node now serving this node's traffic. Connections that outlive the
	// Node that accepted them (a tunnel connection across a config reload, a handshake in
	// progress while the old config stops) are handed to it instead of being refused.
	active atomic.Pointer[Node]

	mu         sync.Mutex
	transports map[string]*http2.Transport // by source SPIFFE ID
}

type identityRef struct{ mesh.Identity }

// NewTunnelPool returns an empty pool.
func NewTunnelPool() *TunnelPool {
	return &TunnelPool{transports: make(map[string]*http2.Transport)}
}

// setIdentity makes later handshakes use id: a reload may bring a new identity module.
func (p *TunnelPool) setIdentity(id mesh.Identity) {
	if id != nil {
		p.identity.Store(&identityRef{id})
	}
}

func (p *TunnelPool) currentIdentity() mesh.Identity {
	if r := p.identity.Load(); r != nil {
		return r.Identity
	}
	return nil
}

// Close closes the pool's idle TLS connections. Connections with open streams close when
// their last stream ends.
func (p *TunnelPool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, t := range p.transports {
		t.CloseIdleConnections()
		delete(p.transports, k)
	}
}

// transport returns the HTTP/2 client that presents src's certificate.
func (p *TunnelPool) transport(src identity.ID) *http2.Transport {
	key := src.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.transports[key]; ok {
		return t
	}
	t := &http2.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return p.dialTLS(ctx, network, addr, src)
		},
		// A dead peer is found by pings rather than by a stream that never answers.
		ReadIdleTimeout: 30 * time.Second,
		PingTimeout:     10 * time.Second,
		// Large frames halve the per-frame work on bulk streams.
		MaxReadFrameSize: 1 << 20,
	}
	p.transports[key] = t
	return t
}

// dialTLS opens a tunnel connection as src: TLS 1.3, mutual, and the peer must be a node
// agent of the trust domain.
func (p *TunnelPool) dialTLS(ctx context.Context, network, addr string, src identity.ID) (net.Conn, error) {
	id := p.currentIdentity()
	if id == nil {
		return nil, errors.New("no mesh identity configured")
	}
	cfg := identity.ClientConfig(id, src, func(peer identity.ID) error {
		if _, ok := peer.Node(); !ok {
			return fmt.Errorf("tunnel peer %s is not a node agent", peer)
		}
		return nil
	})
	cfg.NextProtos = []string{http2.NextProtoTLS}
	d := tls.Dialer{Config: cfg}
	return d.DialContext(ctx, network, addr)
}

// dialTunnel opens a CONNECT stream to the agent of ep's node, for the service dest, on
// behalf of the source meshlet. The stream's :authority names the Pod and the service:
// "<pod>.<service>.<meshlet>.<namespace>".
func (n *Node) dialTunnel(ctx context.Context, srcNs, srcMeshlet string, ep policy.Endpoint, dest policy.Destination) (io.ReadWriteCloser, error) {
	id := n.cfg.Identity
	if id == nil {
		return nil, refusal(protocol.DestinationUnreachable, "pod %s is on node %s, and this agent has no mesh identity for the tunnel", ep.Key, ep.NodeName)
	}
	if ep.HostIP == "" {
		return nil, refusal(protocol.DestinationUnreachable, "pod %s has no status.hostIP", ep.Key)
	}
	src := identity.MeshletID(id.TrustDomain(), srcNs, srcMeshlet)
	t := n.cfg.Tunnels.transport(src)

	// The stream lives until the application's connection ends, so its context is not ctx
	// (the connect deadline): ctx only cancels it until the destination has answered.
	streamCtx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(streamCtx, http.MethodConnect, "https://"+net.JoinHostPort(ep.HostIP, strconv.Itoa(n.cfg.TunnelPort)), pr)
	if err != nil {
		cancel()
		return nil, refusal(protocol.GeneralFailure, "building the tunnel request: %v", err)
	}
	req.Host = ep.Name + "." + dest.ID.String()
	req.ContentLength = -1
	resp, err := t.RoundTrip(req)
	timedOut := !stop()
	if err != nil {
		cancel()
		pw.Close()
		if timedOut {
			return nil, refusal(protocol.Timeout, "tunnel to %s for pod %s: %v", req.URL.Host, ep.Key, err)
		}
		return nil, refusal(protocol.DestinationUnreachable, "tunnel to %s for pod %s: %v", req.URL.Host, ep.Key, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		pw.Close()
		code := protocol.DestinationUnreachable
		if c, err := strconv.Atoi(resp.Header.Get(codeHeader)); err == nil && c > 0 && protocol.Code(c).Known() {
			code = protocol.Code(c)
		}
		return nil, refusal(code, "destination agent %s for pod %s: %s", req.URL.Host, ep.Key, resp.Status)
	}
	release, _ := n.cfg.Conns.Acquire(ep.Key, dest.ID.Service, 0)
	return &tunnelStream{body: resp.Body, pw: pw, cancel: cancel, release: release}, nil
}

// tunnelStream is the source side of a CONNECT stream as a connection.
type tunnelStream struct {
	body    io.ReadCloser
	pw      *io.PipeWriter
	cancel  context.CancelFunc
	release func()
	once    sync.Once
}

func (s *tunnelStream) Read(p []byte) (int, error)  { return s.body.Read(p) }
func (s *tunnelStream) Write(p []byte) (int, error) { return s.pw.Write(p) }

// CloseWrite ends the request body: the destination reads EOF and half-closes its socket.
func (s *tunnelStream) CloseWrite() error { return s.pw.Close() }

func (s *tunnelStream) Close() error {
	s.once.Do(func() {
		s.pw.CloseWithError(net.ErrClosed)
		s.body.Close()
		s.cancel()
		s.release()
	})
	return nil
}
