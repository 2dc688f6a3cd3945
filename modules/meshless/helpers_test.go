package meshless

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// The test mesh: every object lives in namespace testNS; node-a and node-b run agents at
// their loopback addresses, node-c has Pods but no agent.
const (
	testNS    = "t"
	testTD    = "mesh.test"
	nodeA     = "node-a"
	nodeB     = "node-b"
	nodeC     = "node-c"
	shortWait = 5 * time.Second // for anything that should happen at once
)

var hostIPs = map[string]string{nodeA: "127.0.0.2", nodeB: "127.0.0.3", nodeC: "127.0.0.4"}

// testMesh is a mesh in one process: shared Static collections, a test CA, and one Node
// per agent node with its client sockets and its tunnel listener on the shared port.
type testMesh struct {
	t        testing.TB
	dir      string
	port     int
	ca       *testCA
	meshlets *collection.Static[*meshlessv1.Meshlet]
	pods     *collection.Static[*corev1.Pod]
	opts     []nodeOpt
	nodes    map[string]*testNode
	retired  []idleCloser // HTTP/2 clients made by rawTunnelClient
}

// nodeOpt edits a node's Config before New.
type nodeOpt func(node string, cfg *Config)

// testNode is one running agent.
type testNode struct {
	m       *testMesh
	name    string
	n       *Node
	sockets *ClientSockets
	ln      *trackingListener
	served  chan struct{} // closed when ServeTunnels returns
	access  *observer.ObservedLogs
	logs    *observer.ObservedLogs
	stopped bool
}

// newTestMesh starts node-a and node-b over the objects, synced, and stops everything when
// the test ends, checking that no goroutine the test started is left behind.
func newTestMesh(t testing.TB, meshlets []*meshlessv1.Meshlet, pods []*corev1.Pod, opts ...nodeOpt) *testMesh {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if !t.Failed() {
			if err := goleak.Find(ignore); err != nil {
				t.Errorf("goroutines left behind: %v", err)
			}
		}
	})
	dir, err := os.MkdirTemp("", "ml")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &testMesh{
		t: t, dir: dir, ca: newTestCA(t, testTD),
		meshlets: collection.NewStatic[*meshlessv1.Meshlet](),
		pods:     collection.NewStatic[*corev1.Pod](),
		opts:     opts, nodes: make(map[string]*testNode),
	}
	m.meshlets.Reset(meshlets)
	m.pods.Reset(pods)
	lns := m.reservePort()
	t.Cleanup(m.stopAll)
	for _, name := range []string{nodeA, nodeB} {
		m.startNode(name, lns[name])
	}
	return m
}

// reservePort finds a port free on both agents' addresses and returns their listeners.
func (m *testMesh) reservePort() map[string]net.Listener {
	m.t.Helper()
	for range 20 {
		a, err := net.Listen("tcp", hostIPs[nodeA]+":0")
		if err != nil {
			m.t.Fatalf("listening on %s: %v", hostIPs[nodeA], err)
		}
		port := a.Addr().(*net.TCPAddr).Port
		b, err := net.Listen("tcp", net.JoinHostPort(hostIPs[nodeB], strconv.Itoa(port)))
		if err != nil {
			a.Close()
			continue
		}
		m.port = port
		return map[string]net.Listener{nodeA: a, nodeB: b}
	}
	m.t.Fatal("no port free on both node addresses")
	return nil
}

// root is a node's socket root.
func (m *testMesh) root(node string) string { return filepath.Join(m.dir, node[len(node)-1:]) }

// node returns a running node.
func (m *testMesh) node(name string) *testNode { return m.nodes[name] }

// startNode builds and starts the agent of a node on ln.
func (m *testMesh) startNode(name string, ln net.Listener) *testNode {
	m.t.Helper()
	accessCore, access := observer.New(zapcore.DebugLevel)
	logCore, logs := observer.New(zapcore.DebugLevel)
	cfg := Config{
		Node:             name,
		Root:             m.root(name),
		TunnelPort:       m.port,
		HandshakeTimeout: 500 * time.Millisecond,
		ConnectTimeout:   2 * time.Second,
		Identity:         m.ca,
		Logger:           zap.New(logCore),
		AccessLog:        zap.New(accessCore),
	}
	for _, o := range m.opts {
		o(name, &cfg)
	}
	n, err := New(cfg, m.meshlets, m.pods)
	if err != nil {
		ln.Close()
		m.t.Fatalf("New(%s): %v", name, err)
	}
	tn := &testNode{m: m, name: name, n: n, ln: &trackingListener{Listener: ln}, served: make(chan struct{}),
		access: access, logs: logs}
	m.nodes[name] = tn
	// In agent.go's order: sync, take over from a Node this one replaces, then serve.
	ctx, cancel := context.WithTimeout(context.Background(), shortWait)
	defer cancel()
	if err := n.WaitSynced(ctx); err != nil {
		ln.Close()
		n.Close()
		m.t.Fatalf("node %s did not sync: %v", name, err)
	}
	n.Activate()
	go func() {
		defer close(tn.served)
		n.ServeTunnels(tn.ln)
	}()
	tn.sockets = n.ServeClientSockets(nil)
	if err := tn.sockets.WaitSynced(ctx); err != nil {
		m.t.Fatalf("node %s: client sockets did not sync: %v", name, err)
	}
	return tn
}

// restart replaces a node's agent with a new one, as a restarted process would be: the old
// one's sockets, listener and tunnel connections are closed first.
func (m *testMesh) restart(name string) *testNode {
	m.t.Helper()
	old := m.nodes[name]
	old.kill()
	ln, err := net.Listen("tcp", net.JoinHostPort(hostIPs[name], strconv.Itoa(m.port)))
	if err != nil {
		m.t.Fatalf("re-listening on the tunnel port of %s: %v", name, err)
	}
	return m.startNode(name, ln)
}

// kill stops the node as a dying process would: listeners, then every tunnel connection.
func (tn *testNode) kill() {
	if tn.stopped {
		return
	}
	tn.stopped = true
	tn.sockets.Stop()
	tn.ln.Close()
	<-tn.served
	tn.ln.closeConns()
	tn.n.Close()
	tn.n.cfg.Tunnels.Close()
}

// stopAll stops every node once its connections have ended: the tunnel pools can only close
// idle connections.
func (m *testMesh) stopAll() {
	for _, tn := range m.nodes {
		if !tn.stopped {
			tn.sockets.Stop()
			tn.ln.Close()
			<-tn.served
			tn.n.Close()
		}
	}
	for _, tn := range m.nodes {
		if !tn.stopped {
			waitQuiet(m.t, tn)
		}
	}
	for _, tn := range m.nodes {
		if !tn.stopped {
			tn.stopped = true
			tn.n.cfg.Tunnels.Close()
		}
	}
	// TunnelPool.Close closes the idle connections at once and the busy ones when their
	// streams end (a refused stream is cleaned up just after dialTunnel returns); the raw
	// test clients' transports are closed here. Every tunnel connection must end.
	// Generous: under a loaded CI machine the closes take a while; a leak never ends.
	deadline := time.Now().Add(10 * time.Second)
	for {
		open := 0
		for _, tn := range m.nodes {
			open += tn.ln.open()
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			m.t.Errorf("%d tunnel connections still open after the pools closed", open)
			break
		}
		for _, t := range m.retired {
			t.CloseIdleConnections()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closeTunnels closes a node's tunnel pool, so that the next calls open new TLS
// connections.
func (m *testMesh) closeTunnels(node string) {
	m.nodes[node].n.cfg.Tunnels.Close()
}

// idleCloser is an HTTP/2 client whose idle connections can be closed.
type idleCloser interface{ CloseIdleConnections() }

// waitQuiet waits until the node carries no connection.
func waitQuiet(t testing.TB, tn *testNode) {
	t.Helper()
	deadline := time.Now().Add(shortWait)
	for openConns(tn.n.cfg.Conns) != 0 {
		if time.Now().After(deadline) {
			t.Errorf("node %s still counts %d open connections", tn.name, openConns(tn.n.cfg.Conns))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openConns is the total of a connection table.
func openConns(ct *ConnTable) int64 {
	var n int64
	ct.m.Range(func(_, v any) bool {
		n += v.(*atomic.Int64).Load()
		return true
	})
	return n
}

// trackingListener remembers the connections it accepted, so that a test can cut them as
// a dying process would.
type trackingListener struct {
	net.Listener
	accepted atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.accepted.Add(1)
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	if l.conns == nil {
		l.conns = make(map[net.Conn]struct{})
	}
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// open returns how many accepted connections are not closed yet.
func (l *trackingListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

func (l *trackingListener) closeConns() {
	l.mu.Lock()
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// clientSocket is a Pod's client socket on a node.
func (m *testMesh) clientSocket(node, pod string) string {
	return filepath.Join(m.root(node), testNS, pod, "client", clientSocketName)
}

// dialRaw connects to a Pod's client socket without a handshake.
func (m *testMesh) dialRaw(node, pod string) (*net.UnixConn, error) {
	c, err := net.Dial("unix", m.clientSocket(node, pod))
	if err != nil {
		return nil, err
	}
	return c.(*net.UnixConn), nil
}

// call makes a call from a Pod's client socket and returns the reply code, and the open
// connection when the code is OK. It uses no testing.T, for goroutines.
func (m *testMesh) call(node, pod, service string) (*net.UnixConn, protocol.Code, error) {
	id, err := protocol.ParseServiceID(service)
	if err != nil {
		return nil, 0, err
	}
	c, err := m.dialRaw(node, pod)
	if err != nil {
		return nil, 0, err
	}
	_ = c.SetDeadline(time.Now().Add(shortWait))
	if err := protocol.WriteRequest(c, id); err != nil {
		c.Close()
		return nil, 0, err
	}
	err = protocol.ReadReply(c)
	if err != nil {
		c.Close()
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Err == nil {
			return nil, pe.Code, nil
		}
		return nil, 0, fmt.Errorf("reading the reply: %w", err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, protocol.OK, nil
}

// mustCall is call for the test goroutine: it fails the test unless the reply is want, and
// closes the connection at the end of the test.
func (m *testMesh) mustCall(t testing.TB, node, pod, service string, want protocol.Code) *net.UnixConn {
	t.Helper()
	c, code, err := m.call(node, pod, service)
	if err != nil {
		t.Fatalf("call %s from %s/%s: %v", service, node, pod, err)
	}
	if code != want {
		t.Fatalf("call %s from %s/%s: code %d (%s), want %d (%s)", service, node, pod, code, code, want, want)
	}
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c
}

// roundTrip writes msg, half-closes, and reads everything the server sends back.
func roundTrip(c *net.UnixConn, msg string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(shortWait))
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	if err := c.CloseWrite(); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// serverApp is an application serving one service on a Pod's server socket.
type serverApp struct {
	ln       *net.UnixListener
	handle   func(*net.UnixConn)
	accepted atomic.Int64
	wg       sync.WaitGroup

	mu    sync.Mutex
	conns map[*net.UnixConn]struct{}
}

// serve starts an application on a node's Pod, serving service with handle. It stops, cutting
// its connections, when the test ends.
func (m *testMesh) serve(t testing.TB, node, pod, service string, handle func(*net.UnixConn)) *serverApp {
	t.Helper()
	dir := filepath.Join(m.root(node), testNS, pod, "server")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, service), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	s := &serverApp{ln: ln, handle: handle, conns: make(map[*net.UnixConn]struct{})}
	s.wg.Add(1)
	go s.run()
	t.Cleanup(s.close)
	return s
}

func (s *serverApp) run() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		s.mu.Lock()
		if s.conns == nil {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

func (s *serverApp) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.conns = nil
	s.mu.Unlock()
	s.wg.Wait()
}

// echo sends back what it reads, and half-closes at EOF.
func echo(c *net.UnixConn) {
	_, _ = io.Copy(c, c)
	_ = c.CloseWrite()
}

// greetEcho writes the name and a newline, then echoes: the client learns which Pod served.
func greetEcho(name string) func(*net.UnixConn) {
	return func(c *net.UnixConn) {
		if _, err := io.WriteString(c, name+"\n"); err != nil {
			return
		}
		echo(c)
	}
}

// readGreeting reads the line a greetEcho server sends first.
func readGreeting(c net.Conn) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(shortWait))
	defer c.SetReadDeadline(time.Time{})
	// Byte by byte, so that nothing after the line is consumed.
	var b strings.Builder
	var one [1]byte
	for {
		if _, err := c.Read(one[:]); err != nil {
			return b.String(), err
		}
		if one[0] == '\n' {
			return b.String(), nil
		}
		b.WriteByte(one[0])
	}
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(shortWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// accessLine is one access-log entry's fields.
type accessLine map[string]any

func (l accessLine) code() protocol.Code {
	if c, ok := l["code"].(uint8); ok {
		return protocol.Code(c)
	}
	return 0xff
}

func (l accessLine) str(k string) string { s, _ := l[k].(string); return s }

func (l accessLine) int64(k string) int64 { n, _ := l[k].(int64); return n }

// accessLines returns a node's access log so far.
func (tn *testNode) accessLines() []accessLine {
	var out []accessLine
	for _, e := range tn.access.All() {
		out = append(out, accessLine(e.ContextMap()))
	}
	return out
}

// waitAccess waits for an access-log line that match accepts, and returns it.
func (tn *testNode) waitAccess(t testing.TB, what string, match func(accessLine) bool) accessLine {
	t.Helper()
	var found accessLine
	waitFor(t, "access log of "+tn.name+": "+what, func() bool {
		for _, l := range tn.accessLines() {
			if match(l) {
				found = l
				return true
			}
		}
		return false
	})
	return found
}

// World building, as in policy's tests.

type meshletOpt func(*meshlessv1.Meshlet)

func newMeshlet(name string, opts ...meshletOpt) *meshlessv1.Meshlet {
	m := &meshlessv1.Meshlet{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name}}
	for _, o := range opts {
		o(m)
	}
	return m
}

// calls lets the meshlet call the services, given in their wire form.
func calls(ids ...string) meshletOpt {
	return func(m *meshlessv1.Meshlet) {
		for _, s := range ids {
			parts := strings.Split(s, ".")
			m.Spec.Client = append(m.Spec.Client, meshlessv1.ServiceRef{Service: parts[0], Meshlet: parts[1], Namespace: parts[2]})
		}
	}
}

// serves makes the meshlet serve on the Pods labelled app=<app>.
func serves(app string, services ...meshlessv1.ServerService) meshletOpt {
	return func(m *meshlessv1.Meshlet) {
		m.Spec.Server = &meshlessv1.Server{Selector: map[string]string{"app": app}, Services: services}
	}
}

// canary sets the canary weights, as version, weight pairs.
func canary(pairs ...any) meshletOpt {
	return func(m *meshlessv1.Meshlet) {
		for i := 0; i < len(pairs); i += 2 {
			m.Spec.Server.Canary = append(m.Spec.Server.Canary,
				meshlessv1.CanaryVersion{Version: pairs[i].(string), Weight: int32(pairs[i+1].(int))})
		}
	}
}

func svc(name string) meshlessv1.ServerService { return meshlessv1.ServerService{Name: name} }

func svcMax(name string, maxConn int32) meshlessv1.ServerService {
	return meshlessv1.ServerService{Name: name, MaxConn: &maxConn}
}

func svcIdle(name string, d time.Duration) meshlessv1.ServerService {
	return meshlessv1.ServerService{Name: name, IdleTimeout: &metav1.Duration{Duration: d}}
}

var podIPs atomic.Int32

// newPod returns a serving Pod on node with the labels, given as key, value pairs.
func newPod(name, node string, kv ...string) *corev1.Pod {
	labels := make(map[string]string, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		labels[kv[i]] = kv[i+1]
	}
	n := podIPs.Add(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIP:      fmt.Sprintf("10.0.%d.%d", n/250, n%250+1),
			HostIP:     hostIPs[node],
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
}

// The standard world:
//
//   - meshlet "cli" calls every service below (and some that do not exist); its Pods are
//     "ca" on node-a and "cb" on node-b;
//   - meshlet "nob" calls only lim.loc.t; its Pod is "na" on node-a;
//   - meshlet "loc" serves on Pod "la" (node-a), meshlet "rem" on Pod "rb" (node-b), meshlet
//     "far" on Pod "fc" (node-c, where no agent runs): each serves echo, lim (maxConn 2),
//     idle (idleTimeout 300ms) and gone (nobody listens);
//   - Pod "plain" on node-a has no meshlet label; Pod "orphan" belongs to a meshlet that does
//     not exist.
var serverServices = []meshlessv1.ServerService{
	svc("echo"), svcMax("lim", 2), svcIdle("idle", 300*time.Millisecond), svc("gone"),
}

func standardWorld() ([]*meshlessv1.Meshlet, []*corev1.Pod) {
	var all []string
	for _, m := range []string{"loc", "rem", "far"} {
		for _, s := range serverServices {
			all = append(all, s.Name+"."+m+"."+testNS)
		}
	}
	all = append(all, "echo.nowhere."+testNS, "nosuch.loc."+testNS)
	meshlets := []*meshlessv1.Meshlet{
		newMeshlet("cli", calls(all...)),
		newMeshlet("nob", calls("lim.loc."+testNS)),
		newMeshlet("loc", serves("loc", serverServices...)),
		newMeshlet("rem", serves("rem", serverServices...)),
		newMeshlet("far", serves("far", serverServices...)),
	}
	pods := []*corev1.Pod{
		newPod("ca", nodeA, meshlessv1.LabelMeshlet, "cli"),
		newPod("cb", nodeB, meshlessv1.LabelMeshlet, "cli"),
		newPod("na", nodeA, meshlessv1.LabelMeshlet, "nob"),
		newPod("la", nodeA, meshlessv1.LabelMeshlet, "loc", "app", "loc"),
		newPod("rb", nodeB, meshlessv1.LabelMeshlet, "rem", "app", "rem"),
		newPod("fc", nodeC, meshlessv1.LabelMeshlet, "far", "app", "far"),
		newPod("plain", nodeA),
		newPod("orphan", nodeA, meshlessv1.LabelMeshlet, "ghost"),
	}
	return meshlets, pods
}

// newStandardMesh starts the standard world.
func newStandardMesh(t testing.TB, opts ...nodeOpt) *testMesh {
	t.Helper()
	meshlets, pods := standardWorld()
	return newTestMesh(t, meshlets, pods, opts...)
}

// fakeClientSocket listens at a client socket path that ServeClientSockets would not open
// (an unlabelled or unknown Pod, or a path outside the root) and serves it with the node's
// ServeClient, as a layer4 server configured by hand would.
func (tn *testNode) fakeClientSocket(t testing.TB, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = tn.n.ServeClient(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
}

// rawReply reads the agent's reply code, or returns an error if it closes without one.
func rawReply(c net.Conn) (protocol.Code, error) {
	_ = c.SetReadDeadline(time.Now().Add(shortWait))
	var b [2]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return 0, err
	}
	if b[0] != protocol.Version {
		return 0, fmt.Errorf("reply version %d", b[0])
	}
	return protocol.Code(b[1]), nil
}
