package sdk_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/sdk"
)

// openFDs counts this process's open descriptors. Reading the directory opens one itself,
// the same one each time.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(entries)
}

func TestNoFDLeaks(t *testing.T) {
	// A first mesh, started and closed before counting, makes the runtime open the net
	// poller's descriptors, which stay open for the life of the process.
	startFakeMesh().Close()
	// Counted with no mesh running: the fake agents and the server live in this process, and
	// closing them waits for their goroutines, so every descriptor they opened is closed
	// again before the second count.
	before := openFDs(t)
	mesh := startFakeMesh()
	mute := startAgent(replyWith(replyNothing))
	d := &sdk.Dialer{Socket: mesh.Socket}
	impatient := &sdk.Dialer{Socket: mute.Socket, HandshakeTimeout: time.Millisecond}
	for i := range 200 {
		var err error
		switch i % 5 {
		case 0:
			err = echoOnce(d)
		case 1:
			_, err = d.DialContext(context.Background(), "echo.secret.demo") // NotAllowed
		case 2:
			_, err = d.DialContext(context.Background(), "echo.nowhere.demo") // ServiceNotFound
		case 3:
			_, err = d.DialContext(context.Background(), "gone.server.demo") // DestinationRefused
		case 4:
			_, err = impatient.DialContext(context.Background(), "echo.server.demo") // Timeout
		}
		if (i%5 == 0) != (err == nil) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	mesh.Close()
	mute.Close()

	after := openFDs(t)
	if after != before {
		t.Errorf("%d descriptors open before 200 dials, %d after", before, after)
	}
}

func echoOnce(d *sdk.Dialer) error {
	c, err := d.DialContext(context.Background(), "echo.server.demo")
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, "x"); err != nil {
		return err
	}
	c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "x" {
		return fmt.Errorf("echo %q, %v", b, err)
	}
	return nil
}
