package sdk

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultServerDir is where the node agent looks for the sockets of a Pod's services: the
// service "echo" listens on /meshlet/server/echo.
const DefaultServerDir = "/meshlet/server"

// DefaultMode is the permission a server socket gets. The agent runs as UID/GID 1000, not as
// the application's user, and connecting to a Unix socket takes write permission on its file:
// without write for others the agent answers every client with DestinationRefused. The
// directory, mounted for this Pod only, is what keeps other Pods out.
const DefaultMode os.FileMode = 0o666

// maxSocketPath is the longest path a Unix socket can have on Linux: sun_path is 108 bytes,
// with a terminating NUL.
const maxSocketPath = 107

// A ListenOption changes how Listen creates the socket.
type ListenOption func(*listenConfig)

type listenConfig struct {
	dir  string
	mode os.FileMode
}

// WithDir sets the directory of the socket instead of DefaultServerDir. It must exist.
func WithDir(dir string) ListenOption { return func(c *listenConfig) { c.dir = dir } }

// WithMode sets the socket's permission bits instead of DefaultMode. Take care to leave the
// agent write permission, through its UID, its GID or others.
func WithMode(mode os.FileMode) ListenOption {
	return func(c *listenConfig) { c.mode = mode & os.ModePerm }
}

// Listen creates the socket for service, a DNS-1123 label, at <dir>/<service>, where the
// agent connects for each client the mesh lets through.
//
// A socket left behind by a process that died is removed first. Listen refuses, and removes
// nothing, when another process still answers on the socket (the error matches
// syscall.EADDRINUSE) or when the path is not a socket (the error matches fs.ErrExist).
func Listen(service string, opts ...ListenOption) (*Listener, error) {
	if msgs := validation.IsDNS1123Label(service); len(msgs) > 0 {
		return nil, fmt.Errorf("meshless: listen: service %q: %s", service, strings.Join(msgs, "; "))
	}
	cfg := listenConfig{dir: DefaultServerDir, mode: DefaultMode}
	for _, o := range opts {
		o(&cfg)
	}
	path := filepath.Join(cfg.dir, service)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("meshless: listen %s: the path is %d bytes, more than the %d a Unix socket allows", path, len(path), maxSocketPath)
	}
	if err := removeStale(path); err != nil {
		return nil, fmt.Errorf("meshless: listen %s: %w", path, err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("meshless: listen %s: %w", path, err)
	}
	l, err := newListener(ln, path, cfg.mode)
	if err != nil {
		ln.Close() // unlinks the file: it is still ours, and nobody could use it
		return nil, fmt.Errorf("meshless: listen %s: %w", path, err)
	}
	return l, nil
}

// removeStale unlinks path if it is a socket nobody answers on, which is what a server that
// died leaves behind; bind would fail on it otherwise.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("the path exists and is not a socket; not removing it: %w", fs.ErrExist)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	switch {
	case err == nil:
		c.Close()
		return fmt.Errorf("another process answers on the socket: %w", syscall.EADDRINUSE)
	case errors.Is(err, syscall.ECONNREFUSED):
		// Stale: remove it. Another process removing it first is as good.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing the stale socket: %w", err)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return nil // removed since the Lstat
	default:
		// Busy or forbidden: it may well be live, so leave it.
		return fmt.Errorf("probing the existing socket: %w", err)
	}
}
