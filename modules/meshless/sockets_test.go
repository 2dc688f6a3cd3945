package meshless

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// TestClientSocketsFollowPods checks which Pods get a client socket, with which modes, and
// that sockets open and close as Pods come and go, with no restart.
func TestClientSocketsFollowPods(t *testing.T) {
	m := newStandardMesh(t)
	m.serve(t, nodeA, "la", "echo", echo)
	a := m.node(nodeA)
	running := a.sockets.Running()
	slices.Sort(running)
	if want := []string{"t/ca", "t/la", "t/na", "t/orphan"}; !slices.Equal(running, want) {
		t.Errorf("node-a's sockets: %v, want %v (the labelled Pods of node-a)", running, want)
	}
	for _, pod := range []string{"plain", "cb", "rb"} {
		if _, err := os.Stat(m.clientSocket(nodeA, pod)); !os.IsNotExist(err) {
			t.Errorf("Pod %s has a client socket on node-a: %v", pod, err)
		}
	}
	for path, want := range map[string]os.FileMode{
		filepath.Join(m.root(nodeA), testNS, "ca"):           podDirMode | os.ModeDir,
		filepath.Join(m.root(nodeA), testNS, "ca", "client"): clientDirMode | os.ModeDir,
		filepath.Join(m.root(nodeA), testNS, "ca", "server"): 0o777 | os.ModeDir | (serverDirMode & os.ModeSticky),
		m.clientSocket(nodeA, "ca"):                          clientSocketMode | os.ModeSocket,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}

	// The sticky bit is checked by TestServerFolderIsSticky.

	// A new Pod gets its socket, and can call.
	m.pods.Upsert(newPod("new", nodeA, meshlessv1.LabelMeshlet, "cli"))
	waitFor(t, "the new Pod's socket", func() bool { return slices.Contains(a.sockets.Running(), "t/new") })
	c := m.mustCall(t, nodeA, "new", "echo.loc.t", protocol.OK)
	if got, err := roundTrip(c, "hi"); err != nil || got != "hi" {
		t.Fatalf("echo from the new Pod: %q, %v", got, err)
	}

	// A Pod that is deleted, is terminating, moves, or loses its label loses its socket.
	for _, tc := range []struct {
		name   string
		change func()
	}{
		{"deleted", func() { m.pods.Delete("t/new") }},
		{"terminating", func() {
			p := newPod("new", nodeA, meshlessv1.LabelMeshlet, "cli")
			now := metav1.Now()
			p.DeletionTimestamp = &now
			m.pods.Upsert(p)
		}},
		{"on another node", func() { m.pods.Upsert(newPod("new", nodeB, meshlessv1.LabelMeshlet, "cli")) }},
		{"label removed", func() { m.pods.Upsert(newPod("new", nodeA)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.pods.Upsert(newPod("new", nodeA, meshlessv1.LabelMeshlet, "cli"))
			waitFor(t, "the socket", func() bool { return slices.Contains(a.sockets.Running(), "t/new") })
			tc.change()
			waitFor(t, "the socket to close", func() bool { return !slices.Contains(a.sockets.Running(), "t/new") })
			if c, err := net.Dial("unix", m.clientSocket(nodeA, "new")); err == nil {
				c.Close()
				t.Error("the closed socket still accepts")
			}
		})
	}
}

// TestServerFolderIsSticky checks the server folder's sticky bit, which keeps one
// application from removing another's sockets.
func TestServerFolderIsSticky(t *testing.T) {
	m := newStandardMesh(t)
	fi, err := os.Stat(filepath.Join(m.root(nodeA), testNS, "ca", "server"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("the server folder's mode is %v, without the sticky bit", fi.Mode())
	}
}

// TestClientSocketSurvivesPodUpdates changes a local Pod's status, as the kubelet does all
// the time: the client socket must stay the same listener, not be closed and reopened (a
// reopened socket drops the connections waiting in its backlog, and refuses connections
// while it is away).
func TestClientSocketSurvivesPodUpdates(t *testing.T) {
	m := newStandardMesh(t)
	a := m.node(nodeA)
	inode := func() uint64 {
		fi, err := os.Stat(m.clientSocket(nodeA, "ca"))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	before := inode()
	// A connection waiting in the backlog, not yet accepted, must survive too: hold one
	// open without a request.
	waiting, err := m.dialRaw(nodeA, "ca")
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()

	p := newPod("ca", nodeA, meshlessv1.LabelMeshlet, "cli")
	p.Status.PodIP = "10.9.9.9"
	p.ResourceVersion = "2"
	m.pods.Upsert(p)
	// Then a Pod whose socket appears once the update above has been handled.
	m.pods.Upsert(newPod("mark", nodeA, meshlessv1.LabelMeshlet, "cli"))
	waitFor(t, "the marker Pod's socket", func() bool { return slices.Contains(a.sockets.Running(), "t/mark") })
	if after := inode(); after != before {
		t.Errorf("a status update reopened the client socket (inode %d, now %d)", before, after)
	}
	opened := 0
	for _, e := range a.logs.FilterMessage("client socket open").All() {
		if e.ContextMap()["socket"] == m.clientSocket(nodeA, "ca") {
			opened++
		}
	}
	if opened != 1 {
		t.Errorf("the client socket was opened %d times", opened)
	}
	if _, err := waiting.Write([]byte{1, 0}); err != nil {
		t.Fatal(err)
	}
	if code, err := rawReply(waiting); err != nil || code != protocol.Malformed {
		t.Errorf("a connection made before the update: reply %d, %v", code, err)
	}
}

// TestForward checks the mesh_tunnel handler's entry: a plain connection carried to a
// service on behalf of a meshlet, with the same checks and paths as a client call.
func TestForward(t *testing.T) {
	m := newStandardMesh(t)
	m.serve(t, nodeA, "la", "echo", echo)
	m.serve(t, nodeB, "rb", "echo", echo)
	a := m.node(nodeA)
	for _, tc := range []struct {
		name    string
		meshlet string
		service string
		want    protocol.Code
	}{
		{"same node", "cli", "echo.loc.t", protocol.OK},
		{"cross node", "cli", "echo.rem.t", protocol.OK},
		{"not allowed", "nob", "echo.rem.t", protocol.NotAllowed},
		{"meshlet missing", "ghost", "echo.rem.t", protocol.NotAllowed},
		{"service missing", "cli", "nosuch.loc.t", protocol.ServiceNotFound},
		{"server socket missing", "cli", "gone.rem.t", protocol.DestinationRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, agentSide := unixPair(t)
			id, _ := protocol.ParseServiceID(tc.service)
			done := make(chan error, 1)
			go func() { done <- a.n.Forward(agentSide, testNS, tc.meshlet, id) }()
			if tc.want == protocol.OK {
				if got, err := roundTrip(client, "forwarded"); err != nil || got != "forwarded" {
					t.Fatalf("echo %q, %v", got, err)
				}
			}
			select {
			case err := <-done:
				if codeOf(err) != tc.want {
					t.Fatalf("Forward: %v, want code %d", err, tc.want)
				}
			case <-time.After(shortWait):
				t.Fatal("Forward did not return")
			}
			// Forward closes the connection it was given.
			_ = client.SetReadDeadline(time.Now().Add(shortWait))
			if _, err := io.ReadAll(client); err != nil {
				t.Errorf("after Forward: %v", err)
			}
			l := a.waitAccess(t, tc.service, func(l accessLine) bool { return l.str("destination") == tc.service })
			if l.code() != tc.want || l.str("source") != testNS+"/"+tc.meshlet {
				t.Errorf("access log %v", l)
			}
			a.access.TakeAll()
		})
	}
	a.n.Close()
	client, agentSide := unixPair(t)
	defer client.Close()
	if err := a.n.Forward(agentSide, testNS, "cli", protocol.ServiceID{Service: "echo", Meshlet: "loc", Namespace: testNS}); err == nil {
		t.Error("Forward after Close succeeded")
	}
	if l := a.waitAccess(t, "the refusal", func(l accessLine) bool { return true }); l.code() != protocol.ShuttingDown {
		t.Errorf("Forward after Close: access log %v, want code 11", l)
	}
}
