// Package sdk is the SDK for applications in a Meshless mesh. An application never handles
// TLS, certificates or endpoints: the node agent of its node does, and the application only
// talks to it over Unix sockets.
//
// As a client, an application dials a service by its ID, "<service>.<meshlet>.<namespace>":
//
//	conn, err := sdk.Dial(ctx, "echo.server.demo")
//
// Dial connects to the agent's socket (DefaultClientSocket in a Pod), sends the handshake of
// package protocol and returns once the agent has reached the destination. A refusal is a
// *DialError that says why, by the agent's reply code: test it with errors.Is and the ErrX
// sentinels (errors.Is(err, sdk.ErrNotAllowed)) or read the code with CodeOf. For HTTP,
// Dialer.Transport maps a URL's host to the service ID, so http://echo.server.demo/ works.
//
// As a server, an application listens on its own socket, DefaultServerDir/<service>, where
// the agent connects on behalf of each client the mesh lets through:
//
//	l, err := sdk.Listen("echo")
//	go sdk.Serve(l, handle)
//	...
//	l.Shutdown(ctx) // on SIGTERM: stop accepting, let the calls in flight finish
//
// Listen clears a socket that a crashed run left behind and opens the socket's permission to
// the agent, which runs as another user.
package sdk
