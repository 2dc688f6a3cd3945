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
	transports map[string]*tunnelTransport // by source SPIFFE ID
}

// tunnelTransport is one source identity's HTTP/2 client, counting its TLS connections so
// that a closed pool can close the busy ones once their streams end.
type tunnelTransport struct {
	*http2.Transport
	open atomic.Int64 // TLS connections dialled and not yet closed
}

// closeWhenIdle closes the transport's connections as they become idle, until none is
// left: http2.Transport can only close connections that are idle at the time of the call.
func (t *tunnelTransport) closeWhenIdle() {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		t.CloseIdleConnections()
		if t.open.Load() <= 0 {
			return
		}
	}
}

// countedTLSConn is a tunnel TLS connection that its transport counts until it is closed.
type countedTLSConn struct {
	*tunnelConn
	once sync.Once
	open *atomic.Int64
}

func (c *countedTLSConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.tunnelConn.Close()
}

type identityRef struct{ mesh.Identity }

// NewTunnelPool returns an empty pool.
func NewTunnelPool() *TunnelPool {
	return &TunnelPool{transports: make(map[string]*tunnelTransport)}
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

// Close closes the pool's idle TLS connections now, and the others as soon as their last
// stream ends.
func (p *TunnelPool) Close() {
	p.mu.Lock()
	retired := p.transports
	p.transports = make(map[string]*tunnelTransport)
	p.mu.Unlock()
	for _, t := range retired {
		t.CloseIdleConnections()
		if t.open.Load() > 0 {
			go t.closeWhenIdle()
		}
	}
}

// transport returns the HTTP/2 client that presents src's certificate.
func (p *TunnelPool) transport(src identity.ID) *tunnelTransport {
	key := src.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.transports[key]; ok {
		return t
	}
	t := &tunnelTransport{}
	t.Transport = &http2.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			c, err := p.dialTLS(ctx, network, addr, src)
			if err != nil {
				return nil, err
			}
			t.open.Add(1)
			return &countedTLSConn{tunnelConn: c, open: &t.open}, nil
		},
		// A dead peer is found by pings rather than by a stream that never answers.
		ReadIdleTimeout: 30 * time.Second,
		PingTimeout:     10 * time.Second,
		// Large frames halve the per-frame work on bulk streams.
		MaxReadFrameSize: 64 << 10,
	}
	p.transports[key] = t
	return t
}

// dialTLS opens a tunnel connection as src: TLS 1.3, mutual, and the peer must be a node
// agent of the trust domain.
func (p *TunnelPool) dialTLS(ctx context.Context, network, addr string, src identity.ID) (*tunnelConn, error) {
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
	cfg.DynamicRecordSizingDisabled = true // full records from the first byte: bulk streams
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	rc := newRawConn(raw)
	tc := tls.Client(rc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return newTunnelConn(tc, rc), nil
}

// dialTunnel opens a CONNECT stream to the agent of ep's node, for the service dest, on
// behalf of the source meshlet. The stream's :authority names the Pod and the service:
// "<pod>.<service>.<meshlet>.<namespace>".
func (n *Node) dialTunnel(ctx context.Context, srcNs, srcMeshlet string, ep policy.Endpoint, dest policy.Destination) (io.ReadWriteCloser, error) {
	id := n.cfg.Identity
	if id == nil {
		return nil, policy.Refuse(protocol.DestinationUnreachable, "pod %s is on node %s, and this agent has no mesh identity for the tunnel", ep.Key, ep.NodeName)
	}
	if ep.HostIP == "" {
		return nil, policy.Refuse(protocol.DestinationUnreachable, "pod %s has no status.hostIP", ep.Key)
	}
	src := identity.MeshletID(id.TrustDomain(), srcNs, srcMeshlet)
	t := n.cfg.Tunnels.transport(src)

	// The stream lives until the application's connection ends, so its context is not ctx
	// (the connect deadline): ctx only cancels it until the destination has answered.
	streamCtx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	body := newGatedBody()
	req, err := http.NewRequestWithContext(streamCtx, http.MethodConnect, "https://"+net.JoinHostPort(ep.HostIP, strconv.Itoa(n.cfg.TunnelPort)), body)
	if err != nil {
		cancel()
		return nil, policy.Refuse(protocol.GeneralFailure, "building the tunnel request: %v", err)
	}
	req.Host = ep.Name + "." + dest.ID.String()
	req.ContentLength = -1
	resp, err := t.RoundTrip(req)
	timedOut := !stop()
	if err != nil {
		cancel()
		body.abort()
		if timedOut {
			return nil, policy.Refuse(protocol.Timeout, "tunnel to %s for pod %s: %v", req.URL.Host, ep.Key, err)
		}
		return nil, policy.Refuse(protocol.DestinationUnreachable, "tunnel to %s for pod %s: %v", req.URL.Host, ep.Key, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		body.abort()
		code := protocol.DestinationUnreachable
		if c, err := strconv.Atoi(resp.Header.Get(codeHeader)); err == nil && c > 0 && protocol.Code(c).Known() {
			code = protocol.Code(c)
		}
		return nil, policy.Refuse(code, "destination agent %s for pod %s: %s", req.URL.Host, ep.Key, resp.Status)
	}
	release, _ := n.cfg.Conns.Acquire(ep.Key, dest.ID.Service, 0)
	return &tunnelStream{resp: resp.Body, body: body, cancel: cancel, release: release}, nil
}

// gatedBody is a tunnel stream's request body. HTTP/2 starts reading the body as soon as it
// has sent the request, but the client's bytes may flow only once the destination has
// answered 200 (on a refusal the next candidate gets them), so reads wait at a gate until
// feed opens it with the client's connection, or abort closes it.
type gatedBody struct {
	gate  chan struct{} // closed by abort: by feed to open it, or to fail the stream
	abort func()
	n     atomic.Int64 // bytes read from src

	// src and last are set by feed before it opens the gate, and only read after it.
	src  io.Reader
	last *atomic.Int64

	mu       sync.Mutex // guards done and finished: Close may come from HTTP/2 at any time
	done     func(n int64, clean bool)
	finished bool
}

var errAborted = errors.New("tunnel stream aborted before it was set up")

func newGatedBody() *gatedBody {
	b := &gatedBody{gate: make(chan struct{})}
	var closeGate sync.Once
	b.abort = func() { closeGate.Do(func() { close(b.gate) }) }
	return b
}

func (b *gatedBody) Read(p []byte) (int, error) {
	<-b.gate
	if b.src == nil {
		return 0, errAborted
	}
	n, err := b.src.Read(p)
	if n > 0 {
		b.n.Add(int64(n))
		b.last.Store(time.Now().UnixNano())
	}
	if err != nil {
		b.finish(errors.Is(err, io.EOF))
	}
	return n, err
}

// Close is HTTP/2 done with the body: at EOF, or because the stream ended first. HTTP/2
// closes the body to end a Read that would block, so a Read still waiting at the gate (the
// stream failed before it was set up) returns: until it does, RoundTrip does not return.
func (b *gatedBody) Close() error {
	b.finish(false)
	b.abort()
	return nil
}

// finish reports the end of the client's side once; before feed, feed reports it.
func (b *gatedBody) finish(clean bool) {
	b.mu.Lock()
	if b.finished {
		b.mu.Unlock()
		return
	}
	b.finished = true
	done := b.done
	b.mu.Unlock()
	if done != nil {
		done(b.n.Load(), clean)
	}
}

// tunnelStream is the source side of a CONNECT stream as a connection: Read is the
// response body; the client's bytes reach the request body through feed.
type tunnelStream struct {
	resp    io.ReadCloser
	body    *gatedBody
	cancel  context.CancelFunc
	release func()
	once    sync.Once
}

func (s *tunnelStream) Read(p []byte) (int, error) { return s.resp.Read(p) }

// Write is not used: splice feeds the request body through feed.
func (s *tunnelStream) Write(p []byte) (int, error) {
	return 0, errors.New("tunnel stream: writes go through feed")
}

// feed opens the gate: HTTP/2's own body writer reads the client's connection from now on.
func (s *tunnelStream) feed(src io.Reader, last *atomic.Int64, done func(n int64, clean bool)) {
	b := s.body
	b.mu.Lock()
	ended := b.finished // HTTP/2 closed the body already: the stream is over
	if !ended {
		b.src, b.last, b.done = src, last, done
	}
	b.mu.Unlock()
	if ended {
		done(0, false)
		return
	}
	b.abort() // opens the gate; src is set, so reads go through
}

func (s *tunnelStream) Close() error {
	s.once.Do(func() {
		// Cancel first: the response body's Close otherwise waits for HTTP/2's request
		// writer, which may be inside gatedBody.Read, calling back into splice's closeBoth,
		// which waits for this Close: a deadlock.
		s.cancel()
		s.resp.Close()
		s.body.abort()
		s.release()
	})
	return nil
}
