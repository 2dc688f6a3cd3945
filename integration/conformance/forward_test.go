package conformance

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// forwarder is a TCP listener that forwards each connection to the address target returns
// at the time, passing on half-closes and resets: see hostPortShims.
type forwarder struct {
	ln     net.Listener
	target func() (string, error)

	mu     sync.Mutex // guards conns and closed
	conns  map[net.Conn]struct{}
	closed bool

	wg sync.WaitGroup
}

// listenForward listens on addr and forwards to target.
func listenForward(addr string, target func() (string, error)) (*forwarder, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &forwarder{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		if !f.track(c) {
			c.Close()
			return
		}
		f.wg.Add(1)
		go f.handle(c)
	}
}

// track remembers c so Close can cut it; false once the forwarder is closed.
func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) forget(c net.Conn) {
	c.Close()
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

func (f *forwarder) handle(client net.Conn) {
	defer f.wg.Done()
	defer f.forget(client)
	addr, err := f.target()
	var server net.Conn
	if err == nil {
		server, err = net.DialTimeout("tcp", addr, 5*time.Second)
	}
	if err != nil {
		// The port a Pod does not serve refuses; the nearest a forwarder can do is reset.
		reset(client)
		return
	}
	if !f.track(server) {
		server.Close()
		return
	}
	defer f.forget(server)
	done := make(chan struct{})
	go func() {
		pipe(server, client)
		close(done)
	}()
	pipe(client, server)
	<-done
}

// pipe copies src to dst and passes on how src ended: a clean end of stream as a half-close,
// a reset as a reset.
func pipe(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if err != nil && errors.Is(err, syscall.ECONNRESET) {
		reset(dst)
		return
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		return
	}
	dst.Close()
}

// reset closes c with a TCP RST rather than a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// Close stops listening, cuts every connection and waits for the goroutines.
func (f *forwarder) Close() {
	f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
