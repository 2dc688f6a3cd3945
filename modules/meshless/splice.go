package meshless

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// copyBufSize is the buffer a direction of a spliced connection borrows while data flows.
// Buffers come from a pool and go back as soon as a read comes back short, so an idle
// connection holds none.
const copyBufSize = 128 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// halfCloser is a stream whose write side can be closed alone, so that one direction's EOF
// reaches the other end while the reply keeps flowing (*net.UnixConn, *tls.Conn, a tunnel
// stream).
type halfCloser interface{ CloseWrite() error }

// feeder is a server side that reads the client's bytes itself: a tunnel stream hands the
// client's connection to HTTP/2 as the request body, which saves a goroutine and a copy per
// connection. feed starts it; done is called once, when the client's side has ended, with
// the bytes read and whether it ended at EOF.
type feeder interface {
	feed(src io.Reader, last *atomic.Int64, done func(n int64, clean bool))
}

// spliced is the byte counts of one finished connection.
type spliced struct {
	up, down int64 // bytes client→server and server→client
	idle     bool  // closed by the idle timeout
}

// splice copies between the client a and the server b until both directions end, and
// closes both. With idle > 0 it closes both once no byte has moved in either direction for
// that long. Each direction ends with a half-close of its writer, so protocols that signal
// the end of a request with EOF work through the mesh.
func splice(a, b io.ReadWriteCloser, idle time.Duration) spliced {
	var (
		res     spliced
		last    atomic.Int64 // unix nanos of the last byte moved
		idleHit atomic.Bool
		closed  atomic.Bool
	)
	// Not a sync.Once: a second caller must not wait for the first one's Close, which may
	// itself be waiting for the second caller's direction to end.
	closeBoth := func() {
		if closed.CompareAndSwap(false, true) {
			a.Close()
			b.Close()
		}
	}
	last.Store(time.Now().UnixNano())
	var timer *time.Timer
	if idle > 0 {
		check := func() {
			since := time.Since(time.Unix(0, last.Load()))
			if since >= idle {
				idleHit.Store(true)
				closeBoth()
				return
			}
			timer.Reset(idle - since)
		}
		timer = time.AfterFunc(idle, check)
		defer timer.Stop()
	}
	// A direction that ends with an error (or cannot half-close) closes both, so the other
	// one never waits on a peer that is gone.
	run := func(dst io.Writer, src io.Reader) int64 {
		n, clean := pipe(dst, src, &last)
		if !clean {
			closeBoth()
		}
		return n
	}
	done := make(chan int64, 1)
	if f, ok := b.(feeder); ok {
		f.feed(a, &last, func(n int64, clean bool) {
			if !clean {
				closeBoth()
			}
			done <- n
		})
	} else {
		go func() { done <- run(b, a) }()
	}
	res.down = run(a, b)
	res.up = <-done
	closeBoth()
	res.idle = idleHit.Load()
	return res
}

// waitRead is the size of the read a direction waits in: small, on the goroutine's stack,
// so that an idle connection holds no heap buffer.
const waitRead = 512

// pipe copies src to dst. It waits for data with a small read; only when that read comes
// back full (more is queued) does it borrow a pooled buffer, which drain gives back at the
// first short read, so an idle direction holds none. It half-closes dst at src's EOF and
// returns the bytes copied, and whether it ended cleanly: at EOF, with dst half-closed.
func pipe(dst io.Writer, src io.Reader, last *atomic.Int64) (int64, bool) {
	var (
		total int64
		small [waitRead]byte
	)
	for {
		n, err := src.Read(small[:])
		if n > 0 {
			if _, werr := dst.Write(small[:n]); werr != nil {
				return total, false
			}
			total += int64(n)
			last.Store(time.Now().UnixNano())
			if n == len(small) && err == nil {
				var m int64
				m, err = drain(dst, src, last)
				total += m
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if hc, ok := dst.(halfCloser); ok {
					return total, hc.CloseWrite() == nil
				}
			}
			return total, false
		}
	}
}

// drain copies with a pooled buffer while each read fills it, and returns after the first
// short read (what was queued has been moved) or an error. The small read that follows
// costs one system call per burst, the price of holding no buffer while idle.
func drain(dst io.Writer, src io.Reader, last *atomic.Int64) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
			last.Store(time.Now().UnixNano())
		}
		if err != nil || n < len(buf) {
			return total, err
		}
	}
}
