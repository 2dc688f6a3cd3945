// Package envoyroute translates an Envoy xDS v3 RouteConfiguration, and the Clusters its
// routes name, into the compiled route model of package table. It is a pure function of its
// input: no Caddy, no clients, no runtime state, so every rule is tested with golden files.
//
// The input is first checked by package resource's decoder, the same one the xDS client
// NACKs with (go-control-plane's generated validation plus the semantic checks Envoy makes:
// regular expressions that compile, weights that add up, known redirect codes). Its typed
// views flatten the matchers and actions; the fields those views leave out (header
// mutations, retries, mirrors, hash policies) are read from the proto.
//
// A translation never serves something other than what the configuration asks for. A
// field the table cannot express and that changes what happens to a request is an error
// for the route (or virtual host) that carries it, and that route is left out while the
// others are served; fields that only feed Envoy's statistics, tracing or runtime are
// ignored, each with a comment in fields.go saying why. Every allow list there names the
// fields this package understands, so a field added to the protos later is an error until
// someone decides what it means here.
//
// Where Envoy and the table differ and the difference is unavoidable, the choice is
// documented next to the code that makes it; the main ones:
//
//   - Domains are matched without their port (the table has no ports), as with Envoy's
//     ignore_port_in_host_matching. Wildcards other than "*" and a leading "*." cannot be
//     expressed; such a domain is an error and the virtual host keeps its other domains.
//   - Response header mutations of the virtual host and the route configuration are folded
//     into each route's, because the table applies a virtual host's response mutations
//     before the route's and Envoy applies them after.
//   - A route naming a cluster that is not in Input.Clusters still translates: the
//     cluster becomes an EDS cluster of its own name, which is what Envoy does while it
//     waits for CDS to deliver it.
//   - A cluster that cannot be translated is an error of its own; the backends naming it are
//     marked Invalid (answered 500 by the runtime) and mirrors to it are dropped, as Envoy
//     drops mirrors to a cluster it does not have.
//   - The consistent-hash key is a cluster's in the table but a route's in Envoy: the
//     first route with a hash policy sets it, and a later route asking for another key on
//     the same cluster is an error.
package envoyroute
