package meshless

import (
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// The in-process benchmarks: two Nodes and the applications in one process, on real Unix
// sockets and a real TLS tunnel over loopback. The side-by-side comparison with HAProxy and
// plain TLS, as separate processes, is integration/bench/meshless.sh (BENCHMARKS.md).

var benchPaths = []struct{ name, service string }{
	{"same-node", "echo.loc.t"},
	{"cross-node", "echo.rem.t"},
}

// BenchmarkNewConnection is one whole call: connect, handshake, one byte echoed, close.
// Across nodes it is a new stream on the pooled tunnel connection, not a TLS handshake.
func BenchmarkNewConnection(b *testing.B) {
	for _, p := range benchPaths {
		b.Run(p.name, func(b *testing.B) {
			m := newStandardMesh(b)
			m.serve(b, nodeA, "la", "echo", echo)
			m.serve(b, nodeB, "rb", "echo", echo)
			var one [1]byte
			b.ReportAllocs()
			for b.Loop() {
				c, code, err := m.call(nodeA, "ca", p.service)
				if err != nil || code != protocol.OK {
					b.Fatalf("call: code %d: %v", code, err)
				}
				if _, err := c.Write(one[:]); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, one[:]); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

// countSink reads everything and answers with the count, as the process benchmark's
// server does.
func countSink(c *net.UnixConn) {
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		return
	}
	_ = binary.Write(c, binary.BigEndian, n)
}

// BenchmarkThroughput streams b.N chunks of 256 KiB through one call to a server that
// counts them.
func BenchmarkThroughput(b *testing.B) {
	const chunk = 256 << 10
	for _, p := range benchPaths {
		b.Run(p.name, func(b *testing.B) {
			m := newStandardMesh(b)
			m.serve(b, nodeA, "la", "echo", countSink)
			m.serve(b, nodeB, "rb", "echo", countSink)
			c, code, err := m.call(nodeA, "ca", p.service)
			if err != nil || code != protocol.OK {
				b.Fatalf("call: code %d: %v", code, err)
			}
			defer c.Close()
			buf := make([]byte, chunk)
			b.SetBytes(chunk)
			for b.Loop() {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			if err := c.CloseWrite(); err != nil {
				b.Fatal(err)
			}
			var n int64
			if err := binary.Read(c, binary.BigEndian, &n); err != nil {
				b.Fatal(err)
			}
			if n != int64(b.N)*chunk {
				b.Fatalf("server counted %d bytes, want %d", n, int64(b.N)*chunk)
			}
		})
	}
}
