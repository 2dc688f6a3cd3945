package sdk_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
	"github.com/caddymesh/caddymesh/modules/meshless/sdk"
)

// Behaviours of the fake agent beyond replying a code; no real code has these values.
const (
	replyNothing protocol.Code = 0xFE // read the request, then hold the connection silently
	hangUp       protocol.Code = 0xFF // read the request, then close without a reply
)

// demoPolicy is the fake mesh's policy: meshlet "server" serves everything, meshlet
// "secret" lets nobody in, and nothing else exists.
func demoPolicy(id protocol.ServiceID) protocol.Code {
	switch id.Meshlet {
	case "server":
		return protocol.OK
	case "secret":
		return protocol.NotAllowed
	default:
		return protocol.ServiceNotFound
	}
}

// fakeAgent stands in for the node agent: it reads each request with protocol.ReadRequest,
// answers with the code decide gives, and on OK connects the client to the service's socket
// in ServerDir, as the real agent does across the mesh.
type fakeAgent struct {
	Socket    string // where clients dial
	ServerDir string // where servers Listen
	Accepted  atomic.Int64

	dir    string
	decide func(protocol.ServiceID) protocol.Code
	ln     *net.UnixListener
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// startAgent starts an agent in a fresh short directory (sun_path holds only 108 bytes, and
// t.TempDir can be longer). It panics on failure, so examples can use it too.
func startAgent(decide func(protocol.ServiceID) protocol.Code) *fakeAgent {
	dir, err := os.MkdirTemp("", "sdk")
	if err != nil {
		panic(err)
	}
	a := &fakeAgent{
		Socket: filepath.Join(dir, "agent"), ServerDir: filepath.Join(dir, "srv"),
		dir: dir, decide: decide, conns: make(map[net.Conn]struct{}),
	}
	if err := os.Mkdir(a.ServerDir, 0o755); err != nil {
		panic(err)
	}
	a.ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: a.Socket, Net: "unix"})
	if err != nil {
		panic(err)
	}
	a.wg.Add(1)
	go a.serve()
	return a
}

// newAgent is startAgent for a test, closed when the test ends.
func newAgent(t *testing.T, decide func(protocol.ServiceID) protocol.Code) *fakeAgent {
	t.Helper()
	a := startAgent(decide)
	t.Cleanup(a.Close)
	return a
}

// replyWith is a decide function that answers every request with code.
func replyWith(code protocol.Code) func(protocol.ServiceID) protocol.Code {
	return func(protocol.ServiceID) protocol.Code { return code }
}

func (a *fakeAgent) serve() {
	defer a.wg.Done()
	for {
		c, err := a.ln.AcceptUnix()
		if err != nil {
			return
		}
		a.Accepted.Add(1)
		if !a.track(c) {
			return
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer a.untrack(c)
			a.handle(c)
		}()
	}
}

func (a *fakeAgent) handle(c *net.UnixConn) {
	id, err := protocol.ReadRequest(c)
	if err != nil {
		protocol.WriteReply(c, protocol.CodeOf(err))
		return
	}
	switch code := a.decide(id); code {
	case replyNothing:
		io.Copy(io.Discard, c) // until the client gives up or the agent closes
	case hangUp:
	case protocol.OK:
		a.connect(c, id)
	default:
		protocol.WriteReply(c, code)
	}
}

// connect replies OK once the server's socket answers, then pipes both ways, passing on
// half-closes.
func (a *fakeAgent) connect(c *net.UnixConn, id protocol.ServiceID) {
	s, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: filepath.Join(a.ServerDir, id.Service), Net: "unix"})
	if err != nil {
		protocol.WriteReply(c, protocol.DestinationRefused)
		return
	}
	if !a.track(s) {
		return
	}
	defer a.untrack(s)
	if protocol.WriteReply(c, protocol.OK) != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(s, c); s.CloseWrite() }()
	go func() { defer wg.Done(); io.Copy(c, s); c.CloseWrite() }()
	wg.Wait()
}

// track records c, or closes it and returns false once the agent is closed.
func (a *fakeAgent) track(c net.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conns == nil {
		c.Close()
		return false
	}
	a.conns[c] = struct{}{}
	return true
}

func (a *fakeAgent) untrack(c net.Conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.conns, c)
	c.Close()
}

// Close stops the agent, cuts every connection, waits for its goroutines and removes its
// directory.
func (a *fakeAgent) Close() {
	a.ln.Close()
	a.mu.Lock()
	for c := range a.conns {
		c.Close()
	}
	a.conns = nil
	a.mu.Unlock()
	a.wg.Wait()
	os.RemoveAll(a.dir)
}

// fakeMesh is an agent with the demo policy and an echo server, "echo", behind it.
type fakeMesh struct {
	*fakeAgent
	echo *sdk.Listener
	done chan struct{}
}

// startFakeMesh starts a fakeMesh; it panics on failure, so examples can use it.
func startFakeMesh() *fakeMesh {
	a := startAgent(demoPolicy)
	l, err := sdk.Listen("echo", sdk.WithDir(a.ServerDir))
	if err != nil {
		a.Close()
		panic(err)
	}
	m := &fakeMesh{fakeAgent: a, echo: l, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		sdk.Serve(l, func(c net.Conn) { io.Copy(c, c) })
	}()
	return m
}

// newFakeMesh is startFakeMesh for a test, closed when the test ends.
func newFakeMesh(t *testing.T) *fakeMesh {
	t.Helper()
	m := startFakeMesh()
	t.Cleanup(m.Close)
	return m
}

func (m *fakeMesh) Close() {
	m.fakeAgent.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.echo.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
		panic(err)
	}
	<-m.done
}
