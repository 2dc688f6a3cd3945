package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
	"github.com/caddymesh/caddymesh/modules/meshless/sdk"
)

// sentinels maps each non-OK code to its sentinel.
var sentinels = map[protocol.Code]error{
	protocol.GeneralFailure:         sdk.ErrGeneralFailure,
	protocol.UnsupportedVersion:     sdk.ErrUnsupportedVersion,
	protocol.Malformed:              sdk.ErrMalformed,
	protocol.ServiceNotFound:        sdk.ErrServiceNotFound,
	protocol.NotAllowed:             sdk.ErrNotAllowed,
	protocol.NoEndpoint:             sdk.ErrNoEndpoint,
	protocol.ConnectionLimit:        sdk.ErrConnectionLimit,
	protocol.DestinationRefused:     sdk.ErrDestinationRefused,
	protocol.DestinationUnreachable: sdk.ErrDestinationUnreachable,
	protocol.Timeout:                sdk.ErrTimeout,
	protocol.ShuttingDown:           sdk.ErrShuttingDown,
}

// checkCode checks that err carries code and matches its sentinel and no other.
func checkCode(t *testing.T, err error, code protocol.Code) {
	t.Helper()
	if got := sdk.CodeOf(err); got != code {
		t.Errorf("CodeOf = %v, want %v (err %v)", got, code, err)
	}
	for c, s := range sentinels {
		if errors.Is(err, s) != (c == code) {
			t.Errorf("errors.Is(err, %v) = %v (err %v)", s, !(c == code), err)
		}
	}
	var de *sdk.DialError
	if !errors.As(err, &de) {
		t.Errorf("%v (%T) is not a *sdk.DialError", err, err)
	}
}

func TestDialOK(t *testing.T) {
	mesh := newFakeMesh(t)
	// A short handshake timeout: the connection must outlive it, since the deadline is
	// cleared on success.
	d := &sdk.Dialer{Socket: mesh.Socket, HandshakeTimeout: 50 * time.Millisecond}
	c, err := d.DialContext(context.Background(), "echo.server.demo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if sdk.CodeOf(err) != protocol.OK {
		t.Errorf("CodeOf(nil) = %v", sdk.CodeOf(err))
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		t.Fatalf("conn is a %T, want *net.UnixConn", c)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := io.WriteString(uc, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := uc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(uc)
	if string(got) != "hello" || err != nil {
		t.Errorf("echo = %q, %v; want hello", got, err)
	}
}

func TestDialRefusals(t *testing.T) {
	for code := protocol.GeneralFailure; code <= protocol.ShuttingDown; code++ {
		t.Run(code.String(), func(t *testing.T) {
			a := newAgent(t, replyWith(code))
			c, err := sdk.Dial(context.Background(), "echo.server.demo", sdk.WithSocket(a.Socket))
			if c != nil || err == nil {
				t.Fatalf("Dial = %v, %v; want an error", c, err)
			}
			checkCode(t, err, code)
			var pe *protocol.Error
			if !errors.As(err, &pe) || pe.Code != code {
				t.Errorf("errors.As *protocol.Error: %v", pe)
			}
			want := fmt.Sprintf("meshless: dial echo.server.demo: %s (code %d)", code, byte(code))
			if err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
			if errors.Is(err, context.DeadlineExceeded) != (code == protocol.Timeout) {
				t.Errorf("errors.Is(err, context.DeadlineExceeded) wrong for %v", code)
			}
		})
	}
	t.Run("unknown code", func(t *testing.T) {
		a := newAgent(t, replyWith(42))
		_, err := sdk.Dial(context.Background(), "echo.server.demo", sdk.WithSocket(a.Socket))
		checkCode(t, err, 42)
		if want := "meshless: dial echo.server.demo: unknown code 42 (code 42)"; err == nil || err.Error() != want {
			t.Errorf("message %v, want %q", err, want)
		}
	})
}

func TestDialNoReply(t *testing.T) {
	a := newAgent(t, replyWith(replyNothing))
	const timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := sdk.Dial(context.Background(), "echo.server.demo",
		sdk.WithSocket(a.Socket), sdk.WithHandshakeTimeout(timeout))
	if took := time.Since(start); took < timeout || took > timeout+time.Second {
		t.Errorf("Dial took %v, want about %v", took, timeout)
	}
	checkCode(t, err, protocol.Timeout)
	if want := "meshless: dial echo.server.demo: timeout (code 10): no answer within the handshake timeout of 200ms: "; !strings.HasPrefix(fmt.Sprint(err), want) {
		t.Errorf("message %q, want it to start %q", err, want)
	}
	for _, target := range []error{context.DeadlineExceeded, os.ErrDeadlineExceeded} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = false", err, target)
		}
	}
	var to interface{ Timeout() bool }
	if !errors.As(err, &to) || !to.Timeout() {
		t.Errorf("%v has no Timeout() true", err)
	}
}

func TestDialHangUp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		agent func(t *testing.T) string // returns the socket
	}{
		{"after reading the request", func(t *testing.T) string {
			return newAgent(t, replyWith(hangUp)).Socket
		}},
		// A request left unread in the socket turns the agent's close into a reset rather
		// than an EOF; that must read the same.
		{"before reading the request", closeUnread},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sdk.Dial(context.Background(), "echo.server.demo", sdk.WithSocket(tc.agent(t)))
			checkCode(t, err, protocol.GeneralFailure)
			if !strings.Contains(fmt.Sprint(err), "meshless: dial echo.server.demo: general failure (code 1): reading the reply: ") {
				t.Errorf("message %q", err)
			}
		})
	}
}

// closeUnread starts a listener that closes each connection without reading it, once the
// request had time to arrive, and returns its socket.
func closeUnread(t *testing.T) string {
	path := filepath.Join(shortDir(t), "agent")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return path
}

func TestDialNoSocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "missing")
	_, err := sdk.Dial(context.Background(), "echo.server.demo", sdk.WithSocket(path))
	checkCode(t, err, protocol.GeneralFailure)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v does not match fs.ErrNotExist", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "meshless: dial echo.server.demo: connecting to the agent: ") || !strings.Contains(msg, path) {
		t.Errorf("message %q should name the service and the socket", msg)
	}
}

func TestDialContext(t *testing.T) {
	errStop := errors.New("stopping")
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want []error // errors.Is targets
		code protocol.Code
	}{
		{"cancelled during the handshake", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, []error{context.Canceled}, protocol.GeneralFailure},
		{"cancelled with a cause", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(50*time.Millisecond, func() { cancel(errStop) })
			return ctx, func() { cancel(nil) }
		}, []error{context.Canceled, errStop}, protocol.GeneralFailure},
		{"deadline during the handshake", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, []error{context.DeadlineExceeded}, protocol.Timeout},
		{"cancelled before", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, []error{context.Canceled}, protocol.GeneralFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgent(t, replyWith(replyNothing))
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			// The handshake timeout is long: only the context can end the dial in time.
			_, err := sdk.Dial(ctx, "echo.server.demo", sdk.WithSocket(a.Socket), sdk.WithHandshakeTimeout(time.Minute))
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Dial took %v after the context ended", took)
			}
			checkCode(t, err, tc.code)
			for _, target := range tc.want {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
		})
	}
}

func TestDialMalformed(t *testing.T) {
	for _, id := range []string{
		"", "echo", "echo.server", "echo.server.demo.svc", "Echo.server.demo", "echo_1.server.demo",
		"-echo.server.demo", "echo..demo", strings.Repeat("a", 64) + ".server.demo", "echo.server.demo\n",
	} {
		t.Run(id, func(t *testing.T) {
			a := newAgent(t, demoPolicy)
			_, err := sdk.Dial(context.Background(), id, sdk.WithSocket(a.Socket))
			checkCode(t, err, protocol.Malformed)
			if !strings.HasPrefix(fmt.Sprint(err), "meshless: dial ") {
				t.Errorf("message %q", err)
			}
			if n := a.Accepted.Load(); n != 0 {
				t.Errorf("the agent saw %d connections, want none", n)
			}
		})
	}
}

func TestDialErrorMessages(t *testing.T) {
	_, err := sdk.Dial(context.Background(), "Echo server.demo", sdk.WithSocket("/nonexistent"))
	want := `meshless: dial "Echo server.demo": malformed request (code 3): service ID "Echo server.demo" must be <service>.<meshlet>.<namespace>`
	if err == nil || err.Error() != want {
		t.Errorf("message %v, want %s", err, want)
	}
}

func TestDialerDefaultSocket(t *testing.T) {
	if _, err := os.Stat(sdk.DefaultClientSocket); err == nil {
		t.Skip("an agent's socket exists on this machine")
	}
	var d sdk.Dialer
	_, err := d.DialContext(context.Background(), "echo.server.demo")
	if err == nil || !strings.Contains(err.Error(), sdk.DefaultClientSocket) {
		t.Errorf("zero Dialer: %v, want an error naming %s", err, sdk.DefaultClientSocket)
	}
}

// shortDir returns a fresh directory with a short path, removed when the test ends:
// t.TempDir paths can exceed what a Unix socket's address holds.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
