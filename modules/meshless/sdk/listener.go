package sdk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
)

// A Listener is a service's socket. It implements net.Listener and keeps track of the
// connections it accepted, so that Shutdown can wait for them.
//
// Accepted connections wrap a *net.UnixConn; they also have its CloseWrite and CloseRead.
type Listener struct {
	ln   *net.UnixListener
	path string
	file os.FileInfo // the socket file as created, to remove only our own

	mu      sync.Mutex
	closed  bool
	conns   map[*conn]struct{}
	drained chan struct{} // closed when conns becomes empty; made by Shutdown
}

func newListener(ln *net.UnixListener, path string, mode os.FileMode) (*Listener, error) {
	// There is no way to bind with a mode; until the chmod the agent may be refused, which
	// it reports as the destination refusing, and a retry succeeds.
	if err := os.Chmod(path, mode); err != nil {
		return nil, fmt.Errorf("setting the socket's permission: %w", err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	// Close removes the file itself, checking that it is still ours first.
	ln.SetUnlinkOnClose(false)
	return &Listener{ln: ln, path: path, file: fi, conns: make(map[*conn]struct{})}, nil
}

// Accept waits for the agent's next connection. After Close it returns an error matching
// net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	uc, err := l.ln.AcceptUnix()
	if err != nil {
		return nil, err
	}
	c := &conn{UnixConn: uc, l: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		// Accepted just as the listener closed: Shutdown may have counted the connections
		// already, so this one must not be handed out.
		uc.Close()
		return nil, &net.OpError{Op: "accept", Net: "unix", Addr: l.ln.Addr(), Err: net.ErrClosed}
	}
	l.conns[c] = struct{}{}
	return c, nil
}

// Addr returns the socket's address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Close stops accepting and removes the socket file, if the file is still the one Listen
// created: a new server that took over the path keeps its socket. Connections already
// accepted stay open. Close may be called more than once.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()

	err := l.ln.Close()
	if fi, serr := os.Lstat(l.path); serr == nil && os.SameFile(fi, l.file) {
		if rerr := os.Remove(l.path); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing the socket: %w", rerr))
		}
	}
	return err
}

// Shutdown closes the listener, then waits for the accepted connections to be closed. If ctx
// ends first, it closes the remaining connections and returns ctx.Err().
func (l *Listener) Shutdown(ctx context.Context) error {
	err := l.Close()
	l.mu.Lock()
	if len(l.conns) == 0 {
		l.mu.Unlock()
		return err
	}
	if l.drained == nil {
		l.drained = make(chan struct{})
	}
	drained := l.drained
	l.mu.Unlock()

	select {
	case <-drained:
		return err
	case <-ctx.Done():
		l.mu.Lock()
		conns := make([]*conn, 0, len(l.conns))
		for c := range l.conns {
			conns = append(conns, c)
		}
		l.mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
		return ctx.Err()
	}
}

// forget drops a closed connection and wakes Shutdown on the last one.
func (l *Listener) forget(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
	if len(l.conns) == 0 && l.drained != nil {
		close(l.drained)
		l.drained = nil
	}
}

// conn is an accepted connection that leaves its Listener's set when closed.
type conn struct {
	*net.UnixConn
	l    *Listener
	once sync.Once
}

func (c *conn) Close() error {
	err := c.UnixConn.Close()
	c.once.Do(func() { c.l.forget(c) })
	return err
}

var _ net.Listener = (*Listener)(nil)
