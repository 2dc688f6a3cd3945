// Package xds is caddymesh's client side of the xDS v3 protocol: the Aggregated Discovery
// Service (ADS) through which a management server (istiod, Envoy Gateway, a
// go-control-plane based control plane) hands out listeners, routes, clusters, endpoints
// and secrets.
//
// Its foundation opens no connection and can be tested as plain functions:
//
//   - [Error] and its [Kind]s (connection, auth, invalid-resource, nack, over-limit,
//     cancelled, closed), which work with errors.Is and errors.As, and [ClassifyGRPC],
//     which sorts gRPC failures into them;
//   - [TypeURL]: the five well-known resource types, custom ones checked by
//     [ParseTypeURL], and the mesh collection kind each is published under;
//   - [ResourceName]: plain names and xdstp:// names (xDS federation, gRFC A47), parsed,
//     printed in canonical form and usable as map keys;
//   - [Node]: how the client identifies itself to the server;
//   - [AdsConfig]: the server address, node, [Auth] (none, bearer token, mTLS), protocol
//     variant (delta by default), keepalive, [Backoff], timeouts and limits, and the gRPC
//     dial options that implement them.
//
// On that foundation, [AdsClient] keeps one ADS stream open ([Connect]): state of the
// world or delta, with [AdsClient.Subscribe] and [AdsClient.Unsubscribe] by name,
// wildcard or xdstp:// name, and optionally following listeners to their route
// configurations and clusters to their endpoints ([WithAutoSubscribe]). It behaves as
// Envoy and gRPC do where the protocol leaves room:
//
//   - every resource is decoded and validated (resource.Decode) before it is accepted;
//     the valid resources of a response are applied and the invalid ones keep their last
//     good value (gRFC A46), and the response is NACKed with an error_detail naming each
//     rejected resource and why; the same rejected response sent again is NACKed after a
//     growing delay, so that a server that resends at once cannot make the two spin;
//   - ACKs echo the response's nonce (and, state of the world, its version); NACKs keep
//     the last accepted version; every request carries the type's latest nonce;
//   - delta subscription changes go out at once, whatever is in flight; after a
//     reconnect, initial_resource_versions tell the server what the client holds;
//   - a broken stream is reopened with [Backoff] (exponential, with jitter), every
//     subscription is restored with fresh nonces, and the last good state keeps serving
//     meanwhile ([AdsClient.State]);
//   - a subscribed name the server never sends is reported as not existing after
//     [AdsConfig.ResourceDoesNotExistTimeout];
//   - [AdsConfig.ResourceLimit] bounds the resources held.
//
// What happens is delivered, in order and without loss, as [Event]s through
// [AdsClient.Next]; the queue is unbounded so a slow consumer never holds up the stream.
//
// The package imports nothing from Caddy and can be used as a plain Go library; the
// mesh.sources.xds module is one user of it. The typed, read-only resource views live in
// the resource subpackage.
package xds
