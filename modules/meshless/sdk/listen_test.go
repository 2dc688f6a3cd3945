package sdk_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/sdk"
)

func TestListenMode(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []sdk.ListenOption
		want os.FileMode
	}{
		{"default", nil, 0o666},
		{"group only", []sdk.ListenOption{sdk.WithMode(0o660)}, 0o660},
		{"type bits dropped", []sdk.ListenOption{sdk.WithMode(os.ModeSetuid | 0o606)}, 0o606},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			l, err := sdk.Listen("echo", append(tc.opts, sdk.WithDir(dir))...)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			fi, err := os.Lstat(filepath.Join(dir, "echo"))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != tc.want {
				t.Errorf("mode %v, want a socket with %v", fi.Mode(), tc.want)
			}
		})
	}
}

func TestListenExisting(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr error // nil: Listen succeeds
		kept    bool  // the old file must still be there
	}{
		{"nothing", func(*testing.T, string) {}, nil, false},
		{"stale socket", staleSocket, nil, false},
		{"live socket", liveSocket, syscall.EADDRINUSE, true},
		{"regular file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("data"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, fs.ErrExist, true},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}, fs.ErrExist, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			path := filepath.Join(dir, "echo")
			tc.prepare(t, path)
			before, _ := os.Lstat(path)
			l, err := sdk.Listen("echo", sdk.WithDir(dir))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				checkAccepts(t, l, path)
				return
			}
			if err == nil {
				l.Close()
				t.Fatal("Listen succeeded")
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("Listen: %v, want an error naming %s and matching %v", err, path, tc.wantErr)
			}
			after, serr := os.Lstat(path)
			if tc.kept && (serr != nil || !os.SameFile(before, after)) {
				t.Errorf("the existing file was touched: %v", serr)
			}
		})
	}
}

// staleSocket leaves a socket file that nothing listens on, as a crashed server does.
func staleSocket(t *testing.T, path string) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

// liveSocket listens on path until the test ends.
func liveSocket(t *testing.T, path string) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
}

// checkAccepts checks that a client of path reaches l.
func checkAccepts(t *testing.T, l *sdk.Listener, path string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestListenInvalid(t *testing.T) {
	dir := shortDir(t)
	for _, tc := range []struct{ name, service, dir string }{
		{"empty", "", dir},
		{"upper case", "Echo", dir},
		{"dot", "echo.v1", dir},
		{"slash", "../echo", dir},
		{"too long for a label", strings.Repeat("a", 64), dir},
		{"too long for a socket", "echo", filepath.Join(dir, strings.Repeat("d", 110))},
		{"no directory", "echo", filepath.Join(dir, "missing")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := sdk.Listen(tc.service, sdk.WithDir(tc.dir))
			if err == nil {
				l.Close()
				t.Fatal("Listen succeeded")
			}
			if !strings.HasPrefix(err.Error(), "meshless: listen") {
				t.Errorf("message %q", err)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Listen left %v behind", entries)
	}
}

func TestListenerClose(t *testing.T) {
	dir := shortDir(t)
	path := filepath.Join(dir, "echo")
	l, err := sdk.Listen("echo", sdk.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Addr().String(); got != path {
		t.Errorf("Addr = %s, want %s", got, path)
	}
	accepted := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		accepted <- err
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the socket is still there: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestListenerCloseKeepsSuccessor(t *testing.T) {
	// A second server took the path over (removing the first's file): closing the first
	// must not remove the second's socket.
	dir := shortDir(t)
	path := filepath.Join(dir, "echo")
	first, err := sdk.Listen("echo", sdk.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	second, err := sdk.Listen("echo", sdk.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	checkAccepts(t, second, path)
}

func TestShutdown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		finish  time.Duration // when the client lets the handler finish; 0: never
		want    error
	}{
		{"waits for the connection", 5 * time.Second, 100 * time.Millisecond, nil},
		{"closes it when the context ends", 100 * time.Millisecond, 0, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			l, err := sdk.Listen("echo", sdk.WithDir(dir))
			if err != nil {
				t.Fatal(err)
			}
			handled := make(chan error, 1)
			served := make(chan error, 1)
			go func() {
				served <- sdk.Serve(l, func(c net.Conn) {
					c.Write([]byte("hi"))
					// Blocks until the client sends a byte or Shutdown closes the connection.
					_, err := c.Read(make([]byte, 1))
					handled <- err
				})
			}()
			client, err := net.Dial("unix", filepath.Join(dir, "echo"))
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			if _, err := io.ReadFull(client, make([]byte, 2)); err != nil {
				t.Fatal(err) // the handler is running
			}
			if tc.finish > 0 {
				finish := time.AfterFunc(tc.finish, func() { client.Write([]byte("x")) })
				defer finish.Stop()
			}

			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			start := time.Now()
			if err := l.Shutdown(ctx); err != tc.want {
				t.Errorf("Shutdown = %v, want %v", err, tc.want)
			}
			if took := time.Since(start); took < tc.finish {
				t.Errorf("Shutdown returned after %v, before the handler finished", took)
			}
			if err := <-served; err != nil {
				t.Errorf("Serve = %v", err)
			}
			if err := <-handled; (tc.finish > 0) != (err == nil) {
				t.Errorf("handler's read: %v", err)
			}
			// Either way the server's side is closed now, and so is the socket file.
			client.SetReadDeadline(time.Now().Add(time.Second))
			if n, err := client.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Errorf("client read after Shutdown: %d, %v; want EOF", n, err)
			}
			if _, err := os.Lstat(filepath.Join(dir, "echo")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the socket is still there: %v", err)
			}
		})
	}
}
