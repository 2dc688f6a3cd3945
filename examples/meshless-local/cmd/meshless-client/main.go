// Command meshless-client calls a service of the mesh through the node agent, for the local
// demo: each call reads the server's greeting, sends a message and reads its echo, then
// prints "ok <greeting>". A call the agent refuses prints "<code> <meaning>", such as
// "5 not allowed", and the command then exits with status 2, so a script can show a denied
// call; any other failure exits with status 1.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
	"github.com/caddymesh/caddymesh/modules/meshless/sdk"
)

// callTimeout bounds one whole call, handshake and echo.
const callTimeout = 10 * time.Second

func main() {
	socket := flag.String("socket", sdk.DefaultClientSocket, "the node agent's socket")
	service := flag.String("service", "", "service ID to call, <service>.<meshlet>.<namespace> (required)")
	n := flag.Int("n", 1, "number of calls")
	message := flag.String("message", "ping", "message to send and expect back")
	flag.Parse()
	log.SetPrefix("meshless-client: ")
	log.SetFlags(0)
	if *service == "" {
		log.Print("-service is required")
		flag.Usage()
		os.Exit(1)
	}

	d := &sdk.Dialer{Socket: *socket}
	refused := false
	for range *n {
		greeting, err := call(d, *service, *message)
		var pe *protocol.Error
		switch {
		case err == nil:
			fmt.Println("ok", greeting)
		case errors.As(err, &pe):
			// The agent answered with a refusal (or, for code 10, never answered in time).
			fmt.Println(byte(pe.Code), pe.Code)
			refused = true
		default:
			log.Fatal(err)
		}
	}
	if refused {
		os.Exit(2)
	}
}

// call makes one call and returns the server's greeting, without its newline.
func call(d *sdk.Dialer, service, message string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c, err := d.DialContext(ctx, service)
	if err != nil {
		return "", err
	}
	defer c.Close()
	// The deadline covers the exchange too: a server that stops answering must not hang us.
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)

	r := bufio.NewReader(c)
	greeting, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading the greeting: %w", err)
	}
	if _, err := io.WriteString(c, message); err != nil {
		return "", fmt.Errorf("sending the message: %w", err)
	}
	echo := make([]byte, len(message))
	if _, err := io.ReadFull(r, echo); err != nil {
		return "", fmt.Errorf("reading the echo: %w", err)
	}
	if string(echo) != message {
		return "", fmt.Errorf("echo %q, want %q", echo, message)
	}
	return strings.TrimSuffix(greeting, "\n"), nil
}
