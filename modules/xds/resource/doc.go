// Package resource turns the xDS v3 resources an ADS stream delivers (Listener, Cluster,
// RouteConfiguration, ClusterLoadAssignment and Secret) into typed, read-only views.
//
// A management server speaks in go-control-plane protos, which are deep, full of oneofs,
// deprecated fields and nested Any messages. Consumers (the HTTP router, the upstreams, the
// node agent) need a handful of plain Go fields instead, and they need to know that what they
// read was checked before it was accepted. Each decoder therefore does three things in order:
//
//  1. unmarshals the bytes into the proto, rejecting a type URL of another kind;
//  2. runs the proto's generated validation (ValidateAll), keeping every violation;
//  3. runs the semantic checks that generated validation cannot express and that Envoy
//     itself would reject on: a weighted-cluster total of 0, a regular expression that does
//     not compile, duplicate domains, endpoints without a port, and so on.
//
// A resource that fails any step is reported as one *ValidationError listing every reason,
// so that the ADS client can NACK it with a precise error_detail while the other resources of
// the same response are still applied (gRFC A46).
//
// Views are shared by everyone who reads a collection, so they must be treated as immutable:
// no method changes them, and callers must not write to their fields, slices or protos. Each
// view keeps the proto it was decoded from (Proto, and a typed Message accessor) and, for the
// top-level resources, the exact serialized bytes (Raw), so that extensions this package does
// not interpret still reach the consumers that do.
//
// The package imports neither Caddy nor the ADS client, so it can be tested as functions and
// used by consumers that receive resources from other places.
package resource
