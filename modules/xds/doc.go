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
// The package imports nothing from Caddy and can be used as a plain Go library; the
// mesh.sources.xds module is one user of it. The typed, read-only resource views live in
// the resource subpackage.
package xds
