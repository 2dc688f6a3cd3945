package identity

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// The limits of the SPIFFE ID specification: a whole ID fits in 2048 bytes and a trust
// domain in 255.
const (
	maxIDLength          = 2048
	maxTrustDomainLength = 255
	scheme               = "spiffe://"
)

// ID is a SPIFFE ID: spiffe://<trust domain><path>. Path is empty (the ID of the trust
// domain itself) or starts with "/".
type ID struct {
	TrustDomain string
	Path        string
}

// String returns the ID in its URI form, "spiffe://<trust domain><path>". For an ID that
// ParseID returned, this is the exact string it parsed.
func (id ID) String() string { return scheme + id.TrustDomain + id.Path }

// IsZero reports whether id is the zero ID, which names nothing.
func (id ID) IsZero() bool { return id == ID{} }

// ParseID parses a SPIFFE ID strictly, as the SPIFFE ID specification defines it, so that
// every ID has exactly one spelling and IDs can be compared as strings:
//
//   - the scheme is "spiffe://", in lower case;
//   - the trust domain is non-empty and made of a-z, 0-9, '.', '-' and '_' (so no upper
//     case, port, user info or IP literal);
//   - the path is empty or a sequence of "/<segment>", each segment non-empty, not "." or
//     "..", and made of a-z, A-Z, 0-9, '.', '-' and '_' (so no trailing slash, percent
//     encoding, query or fragment).
func ParseID(s string) (ID, error) {
	if len(s) > maxIDLength {
		return ID{}, fmt.Errorf("SPIFFE ID is %d bytes long, more than %d", len(s), maxIDLength)
	}
	rest, ok := strings.CutPrefix(s, scheme)
	if !ok {
		return ID{}, fmt.Errorf("SPIFFE ID %q: must start with %q", s, scheme)
	}
	td, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		td, path = rest[:i], rest[i:]
	}
	if err := ValidateTrustDomain(td); err != nil {
		return ID{}, fmt.Errorf("SPIFFE ID %q: %w", s, err)
	}
	if err := validatePath(path); err != nil {
		return ID{}, fmt.Errorf("SPIFFE ID %q: %w", s, err)
	}
	return ID{TrustDomain: td, Path: path}, nil
}

// ValidateTrustDomain checks a SPIFFE trust domain name, such as "cluster.local".
func ValidateTrustDomain(td string) error {
	switch {
	case td == "":
		return errors.New("empty trust domain")
	case len(td) > maxTrustDomainLength:
		return fmt.Errorf("trust domain is %d bytes long, more than %d", len(td), maxTrustDomainLength)
	}
	for i := 0; i < len(td); i++ {
		if c := td[i]; !isLowerAlnum(c) && c != '.' && c != '-' && c != '_' {
			return fmt.Errorf("trust domain %q: character %q is not allowed (only a-z, 0-9, '.', '-', '_')", td, c)
		}
	}
	return nil
}

func validatePath(path string) error {
	if path == "" {
		return nil
	}
	for seg := range strings.SplitSeq(path[1:], "/") {
		switch seg {
		case "":
			return errors.New("path has an empty segment (a double or trailing slash)")
		case ".", "..":
			return fmt.Errorf("path segment %q is not allowed", seg)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !isLowerAlnum(c) && !('A' <= c && c <= 'Z') && c != '.' && c != '-' && c != '_' {
				return fmt.Errorf("path segment %q: character %q is not allowed (only a-z, A-Z, 0-9, '.', '-', '_')", seg, c)
			}
		}
	}
	return nil
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// MeshletID is the identity of a meshlet's workloads: spiffe://<td>/ns/<namespace>/meshlet/<meshlet>.
// The node agent's tunnel client presents it on behalf of the source meshlet. It does not
// validate its parts; ParseID, or asking a provider for its certificate, does.
func MeshletID(trustDomain, namespace, meshlet string) ID {
	return ID{TrustDomain: trustDomain, Path: "/ns/" + namespace + "/meshlet/" + meshlet}
}

// NodeID is the identity of a node agent: spiffe://<td>/node/<node>. The agent presents it
// as the server on its tunnel port. It does not validate its parts.
func NodeID(trustDomain, node string) ID {
	return ID{TrustDomain: trustDomain, Path: "/node/" + node}
}

// Meshlet returns the namespace and meshlet of an ID made by MeshletID; ok is false for
// any other shape.
func (id ID) Meshlet() (namespace, meshlet string, ok bool) {
	segs := id.segments()
	if len(segs) != 4 || segs[0] != "ns" || segs[2] != "meshlet" || segs[1] == "" || segs[3] == "" {
		return "", "", false
	}
	return segs[1], segs[3], true
}

// Node returns the node of an ID made by NodeID; ok is false for any other shape.
func (id ID) Node() (string, bool) {
	segs := id.segments()
	if len(segs) != 2 || segs[0] != "node" || segs[1] == "" {
		return "", false
	}
	return segs[1], true
}

func (id ID) segments() []string {
	if !strings.HasPrefix(id.Path, "/") {
		return nil
	}
	return strings.Split(id.Path[1:], "/")
}

// FromCertificate returns the SPIFFE ID of an X.509 SVID: the certificate must carry
// exactly one URI SAN, and it must be a SPIFFE ID naming a workload (with a path), as the
// X.509-SVID specification requires.
func FromCertificate(cert *x509.Certificate) (ID, error) {
	if cert == nil {
		return ID{}, errors.New("no certificate")
	}
	if n := len(cert.URIs); n != 1 {
		return ID{}, fmt.Errorf("certificate (serial %s) has %d URI SANs, want exactly one SPIFFE ID", cert.SerialNumber, n)
	}
	id, err := ParseID(cert.URIs[0].String())
	if err != nil {
		return ID{}, fmt.Errorf("certificate (serial %s): %w", cert.SerialNumber, err)
	}
	if id.Path == "" {
		return ID{}, fmt.Errorf("certificate (serial %s): SPIFFE ID %s names a trust domain, not a workload", cert.SerialNumber, id)
	}
	return id, nil
}
