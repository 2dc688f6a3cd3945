// Package meshless is the Meshless node agent: the mesh's layer-4 data plane, in which
// applications never see TLS or addresses.
//
// A client application connects to the Unix socket /meshlet/client/meshless in its Pod
// (the agent's <root>/<namespace>/<pod>/client/meshless), names a service in the handshake
// of package protocol, and after reply 0 has a byte stream to it. A server application
// listens on /meshlet/server/<service>. Between them, the agent of each node:
//
//   - opens a client socket for every meshed Pod of its node, as Pods come and go
//     ([Node.ServeClientSockets], a RunForEach over the Pods collection);
//   - decides each connection with package policy: the calling meshlet is the one of the
//     Pod whose socket was connected to, the service must exist (4) and be in the caller's
//     client list (5), and canary, least connections and maxConn choose the Pod;
//   - connects to a Pod of its own node through the Pod's server socket, and to a Pod of
//     another node through the tunnel, then splices the two streams, with the service's
//     idle timeout, and logs one access line per connection.
//
// # The tunnel
//
// The tunnel is HBONE, as Istio's ztunnel speaks it: HTTP/2 CONNECT streams over TLS 1.3
// with client certificates, one TLS connection per (source identity, destination agent)
// in a [TunnelPool], so that a new application connection costs a stream, not a handshake.
// The source agent presents the SPIFFE identity of the calling meshlet
// (spiffe://<trust-domain>/ns/<ns>/meshlet/<meshlet>) and requires the destination to be a
// node agent (spiffe://<trust-domain>/node/<node>). The stream's :authority is
// "<pod>.<service>.<meshlet>.<namespace>". The destination agent ([Node.ServeTunnel])
// checks the peer's certificate, re-checks access for the peer's meshlet and maxConn with
// its own counts, checks that the Pod is a serving Pod of its own node, and dials the Pod's
// server socket. It answers 200, or an HTTP error whose Meshless-Code header carries the
// reply code, which the source agent hands to the application: a missing or refusing
// socket is 8, an agent that cannot be reached 9, a deadline 10. Refusals 7, 8 and 9 make
// the source agent try its next candidate Pod first.
//
// # Caddy
//
// The Caddy modules wrap a [Node]: mesh.agents.meshless runs it inside the mesh app (the
// client sockets and the tunnel listener of its own), and the caddy-l4 handlers
// layer4.handlers.meshless, layer4.handlers.mesh_inbound and layer4.handlers.mesh_tunnel run
// it inside layer4 servers of the config. A config reload keeps the sockets (Caddy's
// listener pool), the tunnels and the connection counts (a usage pool), and the Node of the
// new config serves the connections that the old one accepted.
//
// # As a library
//
// [New] builds a Node from a [Config] and the Meshlets and Pods collections; a program
// serves it with [Node.ServeClientSockets] and [Node.ServeTunnels], or per connection with
// [Node.ServeClient], [Node.ServeTunnel] and [Node.Forward].
package meshless
