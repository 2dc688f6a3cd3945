package meshless

import (
	"bufio"
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// Buffers under a tunnel connection's TLS. crypto/tls reads and writes one record (16 KiB
// at most) per call on its connection: a 64 KiB HTTP/2 frame is four write system calls and
// four reads. The buffers move several records per system call. They are per tunnel
// connection, which carries many streams, not per stream.
const (
	tunnelReadBuffer  = 128 << 10
	tunnelWriteBuffer = 128 << 10
)

// rawConn is the TCP connection under a tunnel's TLS. Reads go through a buffer. Writes go
// straight through until batch is called (after the handshake, whose flights crypto/tls
// already groups), then into a buffer that tunnelConn flushes at the end of each TLS write.
type rawConn struct {
	net.Conn
	r *bufio.Reader

	mu sync.Mutex    // guards w: TLS writes and flushes come from several goroutines
	w  *bufio.Writer // nil: unbuffered
}

func newRawConn(c net.Conn) *rawConn {
	return &rawConn{Conn: c, r: bufio.NewReaderSize(c, tunnelReadBuffer)}
}

func (c *rawConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *rawConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		return c.Conn.Write(p)
	}
	return c.w.Write(p)
}

// batch starts buffering writes.
func (c *rawConn) batch() {
	c.mu.Lock()
	c.w = bufio.NewWriterSize(c.Conn, tunnelWriteBuffer)
	c.mu.Unlock()
}

// unbatch flushes and stops buffering, so that what TLS writes on its own from now on (the
// close_notify alert) leaves at once.
func (c *rawConn) unbatch() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		return nil
	}
	err := c.w.Flush()
	c.w = nil
	return err
}

func (c *rawConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil || c.w.Buffered() == 0 {
		return nil
	}
	return c.w.Flush()
}

// tunnelConn is a tunnel's TLS connection, as HTTP/2 uses it: each Write's records leave
// in one flush. Reads never flush: HTTP/2's read loop must not block on a write, or two
// agents sending to each other could each stop reading. The only record crypto/tls writes
// while reading, the reply to a peer's key update (which Go peers never send), leaves with
// the next Write.
type tunnelConn struct {
	*tls.Conn
	raw *rawConn
}

// newTunnelConn wraps a TLS connection made over raw, once its handshake is done.
func newTunnelConn(tc *tls.Conn, raw *rawConn) *tunnelConn {
	raw.batch()
	return &tunnelConn{Conn: tc, raw: raw}
}

func (c *tunnelConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if ferr := c.raw.flush(); err == nil {
		err = ferr
	}
	return n, err
}

func (c *tunnelConn) Close() error {
	// Bounded, as crypto/tls bounds its close_notify: a peer that stopped reading must not
	// hold up the close.
	_ = c.raw.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	_ = c.raw.unbatch()
	return c.Conn.Close()
}

// closeFlushTimeout bounds the last flush of a closing tunnel connection.
const closeFlushTimeout = 5 * time.Second
