package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
	"github.com/caddymesh/caddymesh/modules/meshless/sdk"
)

func TestTransport(t *testing.T) {
	mesh := newFakeMesh(t)
	l, err := sdk.Listen("web", sdk.WithDir(mesh.ServerDir))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Host, r.URL.Path)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("Serve: %v", err)
		}
	})

	client := &http.Client{Transport: sdk.NewTransport(sdk.WithSocket(mesh.Socket))}
	t.Cleanup(client.CloseIdleConnections)
	for _, tc := range []struct {
		url  string
		body string // on success
		code protocol.Code
		text string // in the error
	}{
		{url: "http://web.server.demo/a", body: "web.server.demo /a"},
		{url: "http://web.server.demo:8080/b", body: "web.server.demo:8080 /b"},
		{url: "http://WEB.Server.demo/c", body: "WEB.Server.demo /c"},
		{url: "http://web.secret.demo/", code: protocol.NotAllowed, text: "meshless: dial web.secret.demo: not allowed (code 5)"},
		{url: "http://web.nowhere.demo/", code: protocol.ServiceNotFound, text: "service not found (code 4)"},
		{url: "http://nope.server.demo/", code: protocol.DestinationRefused, text: "destination refused (code 8)"},
		{url: "http://localhost/", code: protocol.Malformed, text: "malformed request (code 3)"},
		{url: "https://web.server.demo/", code: protocol.GeneralFailure, text: "https is not used through the mesh"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			resp, err := client.Get(tc.url)
			if tc.code != protocol.OK {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("GET succeeded, want code %v", tc.code)
				}
				if sdk.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.text) {
					t.Errorf("GET: %v (code %v), want code %v and %q", err, sdk.CodeOf(err), tc.code, tc.text)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != tc.body || err != nil {
				t.Errorf("GET = %s %q %v, want 200 %q", resp.Status, body, err, tc.body)
			}
		})
	}
}

func TestTransportRefusalIsTyped(t *testing.T) {
	mesh := newFakeMesh(t)
	tr := (&sdk.Dialer{Socket: mesh.Socket}).Transport()
	t.Cleanup(tr.CloseIdleConnections)
	_, err := (&http.Client{Transport: tr}).Get("http://echo.secret.demo/")
	var de *sdk.DialError
	if !errors.Is(err, sdk.ErrNotAllowed) || !errors.As(err, &de) || de.ServiceID != "echo.secret.demo" {
		t.Errorf("GET: %v, want a *DialError matching ErrNotAllowed", err)
	}
}
