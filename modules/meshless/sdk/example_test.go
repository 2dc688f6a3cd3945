package sdk_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/caddymesh/caddymesh/modules/meshless/sdk"
)

func ExampleDial() {
	// In a Pod, leave out WithSocket: the agent is at sdk.DefaultClientSocket. Here a fake
	// agent stands in, with an echo server behind it.
	mesh := startFakeMesh()
	defer mesh.Close()
	ctx := context.Background()

	conn, err := sdk.Dial(ctx, "echo.server.demo", sdk.WithSocket(mesh.Socket))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprint(conn, "ping")
	conn.(*net.UnixConn).CloseWrite() // done sending; the echo still comes back
	reply, err := io.ReadAll(conn)
	conn.Close()
	fmt.Printf("%s %v\n", reply, err)

	// The meshlet "secret" does not list us as a client.
	_, err = sdk.Dial(ctx, "echo.secret.demo", sdk.WithSocket(mesh.Socket))
	fmt.Println(errors.Is(err, sdk.ErrNotAllowed), sdk.CodeOf(err))
	fmt.Println(err)
	// Output:
	// ping <nil>
	// true not allowed
	// meshless: dial echo.secret.demo: not allowed (code 5)
}

func ExampleListen() {
	mesh := startFakeMesh()
	defer mesh.Close()

	// In a Pod, leave out WithDir: the agent looks in sdk.DefaultServerDir.
	l, err := sdk.Listen("greeter", sdk.WithDir(mesh.ServerDir))
	if err != nil {
		log.Fatal(err)
	}
	go sdk.Serve(l, func(c net.Conn) { fmt.Fprintln(c, "hello from the greeter") })

	// A client elsewhere in the mesh.
	conn, err := sdk.Dial(context.Background(), "greeter.server.demo", sdk.WithSocket(mesh.Socket))
	if err != nil {
		log.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	fmt.Printf("%q %v\n", line, err)

	// On SIGTERM: stop taking calls, and give those in flight some time to finish.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println(l.Shutdown(ctx))
	// Output:
	// "hello from the greeter\n" <nil>
	// <nil>
}

func ExampleDialer_Transport() {
	mesh := startFakeMesh()
	defer mesh.Close()

	// The server: plain HTTP on its socket; the mesh adds TLS between the nodes.
	l, err := sdk.Listen("web", sdk.WithDir(mesh.ServerDir))
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path)
	})}
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())

	// The client: the URL's host is the service ID.
	d := &sdk.Dialer{Socket: mesh.Socket}
	client := &http.Client{Transport: d.Transport()}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://web.server.demo/world")
	if err != nil {
		log.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, string(body), err)
	// Output:
	// 200 OK hello /world <nil>
}
