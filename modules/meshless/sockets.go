package meshless

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

// Permissions of what the agent creates under the root. The agent runs as UID/GID 1000 and
// each Pod mounts only its own <root>/<ns>/<pod>, so the modes open the folders to the
// Pod's own processes, whatever their user: the client socket must be writable to be
// connected to, and the server folder writable for the application to create its sockets.
const (
	podDirMode       os.FileMode = 0o755
	clientDirMode    os.FileMode = 0o755
	serverDirMode    os.FileMode = 0o777 | os.ModeSticky // one application cannot remove another's socket
	clientSocketMode os.FileMode = 0o666
)

// acceptBackoff is the pause after an Accept error other than a closed listener.
const acceptBackoff = 50 * time.Millisecond

// ListenFunc opens a Unix listener at a path. The Caddy module passes one that shares the
// socket with the previous config across a reload; the default is net.Listen.
type ListenFunc func(path string) (net.Listener, error)

// ClientSockets is the running set of client sockets of ServeClientSockets.
type ClientSockets struct {
	fe    *collection.ForEach[localPod]
	local *collection.Derived[localPod]
}

// localPod is all that a client socket depends on: a change to anything else of the Pod
// (its status, its other labels) leaves it equal, so the socket is not reopened.
type localPod struct{ Namespace, Name string }

// WaitSynced blocks until the sockets of every local Pod known at the start are open (or
// failed to open), or ctx ends.
func (s *ClientSockets) WaitSynced(ctx context.Context) error { return s.fe.WaitSynced(ctx) }

// Running returns the Pods whose socket is open, as "namespace/name".
func (s *ClientSockets) Running() []string { return s.fe.Running() }

// Stop closes the listeners; connections already accepted run on.
func (s *ClientSockets) Stop() {
	s.fe.Stop()
	s.local.Stop()
}

// ServeClientSockets keeps a client socket open for each Pod of this node that carries the
// meshless/meshlet label, at <root>/<ns>/<pod>/client/meshless, and creates the Pod's server
// folder: opened and closed as Pods come and go, by the collections' RunForEach, with no
// config reload. The returned stop closes the listeners; connections already accepted run
// on. Errors of one Pod are logged and do not stop the others.
func (n *Node) ServeClientSockets(listen ListenFunc) *ClientSockets {
	if listen == nil {
		listen = func(path string) (net.Listener, error) { return net.Listen("unix", path) }
	}
	local := collection.Map(n.pods, func(p *corev1.Pod) (localPod, bool) {
		if p.Spec.NodeName != n.cfg.Node || p.Labels[meshlessv1.LabelMeshlet] == "" || p.DeletionTimestamp != nil {
			return localPod{}, false
		}
		return localPod{p.Namespace, p.Name}, true
	}, collection.WithName("meshless-local-pods"),
		collection.WithKey(func(p localPod) string { return p.Namespace + "/" + p.Name }))
	fe := collection.RunForEach(local, func(p localPod) (func(), error) {
		return n.serveClientSocket(p.Namespace, p.Name, listen)
	}, collection.OnStartError[localPod](func(key string, err error) {
		n.cfg.Logger.Error("opening a client socket", zap.String("pod", key), zap.Error(err))
	}))
	return &ClientSockets{fe: fe, local: local}
}

// serveClientSocket opens one Pod's client socket and accepts on it until stopped.
func (n *Node) serveClientSocket(ns, pod string, listen ListenFunc) (func(), error) {
	podDir := filepath.Join(n.cfg.Root, ns, pod)
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{podDir, podDirMode}, {filepath.Join(podDir, "client"), clientDirMode}, {filepath.Join(podDir, "server"), serverDirMode}} {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d.path, err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil { // MkdirAll's mode is masked by the umask
			return nil, fmt.Errorf("setting the mode of %s: %w", d.path, err)
		}
	}
	path := filepath.Join(podDir, "client", clientSocketName)
	ln, err := listen(path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, clientSocketMode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("setting the mode of %s: %w", path, err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// Out of descriptors and the like: keep the socket, and let the
				// condition pass rather than spin.
				n.cfg.Logger.Error("accepting on a client socket", zap.String("socket", path), zap.Error(err))
				time.Sleep(acceptBackoff)
				continue
			}
			go n.ServeClient(c)
		}
	}()
	n.cfg.Logger.Debug("client socket open", zap.String("socket", path))
	return func() {
		ln.Close()
		wg.Wait()
	}, nil
}
