// Command echo-server is a Meshless service for the local demo: it listens on its socket in
// the server directory, greets each caller with "hello from <name>", so a client can tell
// which replica answered, and then echoes back what it receives.
//
// On SIGINT or SIGTERM it stops accepting at once and gives open connections up to ten
// seconds to finish, as a Pod being replaced should.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/sdk"
)

// drainTimeout is how long a shutdown waits for open connections; Kubernetes' default
// grace period is 30s, so this leaves room.
const drainTimeout = 10 * time.Second

func main() {
	dir := flag.String("dir", sdk.DefaultServerDir, "directory of the service sockets")
	service := flag.String("service", "echo", "service name: the socket is <dir>/<service>")
	name := flag.String("name", defaultName(), "name to greet callers with, such as the Pod's")
	flag.Parse()
	log.SetPrefix("echo-server: ")
	log.SetFlags(0)

	l, err := sdk.Listen(*service, sdk.WithDir(*dir))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%s listening on %s", *name, l.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() {
		served <- sdk.Serve(l, func(c net.Conn) {
			if _, err := fmt.Fprintf(c, "hello from %s\n", *name); err != nil {
				return
			}
			io.Copy(c, c) // until the caller closes
		})
	}()

	select {
	case <-ctx.Done():
		log.Print("shutting down")
	case err := <-served:
		log.Fatalf("accepting: %v", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := l.Shutdown(sctx); err != nil {
		log.Printf("shutdown: %v (open connections were cut)", err)
	}
}

// defaultName is $HOSTNAME, which Kubernetes sets to the Pod's name, or the host's name.
func defaultName() string {
	if h := os.Getenv("HOSTNAME"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}
