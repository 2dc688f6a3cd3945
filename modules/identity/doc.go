// Package identity is the mesh's workload identity: SPIFFE IDs, a CA that issues and
// rotates X.509 SVIDs for them, trust bundles, mutual-TLS configs, and Caddy TLS modules
// that serve mesh certificates to any Caddy server.
//
// # SPIFFE IDs
//
// Every workload is named by a SPIFFE ID, spiffe://<trust domain>/<path>, carried as the
// only URI SAN of its certificate (no DNS names: peers authorize IDs, not host names). The
// mesh uses two shapes:
//
//	spiffe://<td>/ns/<namespace>/meshlet/<meshlet>   a meshlet's workloads (MeshletID)
//	spiffe://<td>/node/<node>                        a node agent (NodeID)
//
// On the node agent's tunnel the client presents the source meshlet's ID and the server
// presents its node ID; ServerConfig and ClientConfig build those TLS configs, and PeerID
// reads the peer's ID after the handshake.
//
// # The internal CA
//
// mesh.identity.internal ({"ca": "internal"} in apps.mesh.identity) signs certificates
// with an intermediate of a certificate authority of Caddy's pki app (default ID "mesh",
// distinct from Caddy's "local" CA for HTTPS sites). The root and intermediate live in
// Caddy storage, so every node sharing the storage shares the root, and Caddy renews the
// intermediate. Leaf certificates are ECDSA P-256, valid from a minute ago (clock skew) for
// the configured lifetime (default 24h, never past the intermediate).
//
// # Rotation
//
// Each certificate is renewed in the background at half its lifetime. Certificate returns
// the current one, so new handshakes get the new certificate while established connections
// are untouched: TLS checks certificates only in the handshake. A failed renewal keeps the
// old certificate and is retried with backoff. The cache lives in a caddy.UsagePool keyed
// by trust domain, authority (and its root) and lifetime, so a config reload keeps it.
//
// # Root rotation
//
// The trust bundle is the authority's root plus trusted_roots_pem_files. To rotate the
// root: add the new root's PEM to trusted_roots_pem_files everywhere; switch authority to
// the new CA and list the old root's PEM instead, so peers of either root verify each other
// while nodes switch; drop the old root once its last certificates have expired.
//
// # Other CAs
//
// Consumers use only mesh.Identity (TrustDomain, Certificate, TrustBundle). A remote CA,
// such as the control plane's certificate service, implements it the same way as another
// module in the mesh.identity namespace, and everything here works with it unchanged.
//
// # Caddy TLS modules
//
// tls.get_certificate.mesh serves a mesh certificate in any Caddy TLS automation policy
// ("get_certificate mesh <spiffe-id>"), and tls.ca_pool.source.mesh is the trust bundle as
// a trust pool, for example to require mesh client certificates ("trust_pool mesh").
package identity
