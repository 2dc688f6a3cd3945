package resource

import (
	"encoding/json"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
)

// SecretKind says what an SDS secret holds.
type SecretKind uint8

// The secret kinds.
const (
	// SecretTLSCertificate is a certificate chain and private key; TLSCertificate is set.
	SecretTLSCertificate SecretKind = iota + 1
	// SecretValidationContext is a peer validation context (trusted CAs); ValidationContext
	// is set.
	SecretValidationContext
	// SecretSessionTicketKeys are TLS session ticket keys, left in the proto.
	SecretSessionTicketKeys
	// SecretGeneric is an opaque secret for an extension, left in the proto.
	SecretGeneric
)

var secretKindNames = []string{"", "TLSCertificate", "ValidationContext", "SessionTicketKeys", "GenericSecret"}

// String returns the kind's name.
func (k SecretKind) String() string { return enumString(secretKindNames, int(k)) }

// MarshalText makes JSON show the kind's name.
func (k SecretKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Secret is an SDS resource. Its private key bytes are reachable only through Proto, Raw
// and TLSCertificate.KeyPair: String, GoString and JSON never show them.
type Secret struct {
	meta
	// Kind says which of the fields below is set; 0 for a secret with no content.
	Kind SecretKind
	// TLSCertificate is set for SecretTLSCertificate.
	TLSCertificate *TLSCertificate
	// ValidationContext is set for SecretValidationContext.
	ValidationContext *ValidationContext
}

// MarshalJSON shows the view's fields with its name and type URL, for the admin API and
// logs. The proto and raw bytes are left out.
func (s *Secret) MarshalJSON() ([]byte, error) {
	type fields Secret
	return json.Marshal(struct {
		Name, TypeURL string
		*fields
	}{s.name, s.typeURL, (*fields)(s)})
}

// Proto returns the decoded proto. It holds key material: do not log it, and do not
// modify it.
func (s *Secret) Proto() proto.Message { return s.msg }

// Message returns the decoded proto, typed. It holds key material: do not log it, and do
// not modify it.
func (s *Secret) Message() *tlsv3.Secret { return s.msg.(*tlsv3.Secret) }

// buildSecret builds the view of a secret, checking inline certificates and CA bundles.
func buildSecret(m *tlsv3.Secret, base meta, ps *problems) *Secret {
	out := &Secret{meta: base}
	switch t := m.GetType().(type) {
	case *tlsv3.Secret_TlsCertificate:
		at := rootPath("tls_certificate")
		c := buildTLSCertificate(ps, &at, t.TlsCertificate)
		out.Kind, out.TLSCertificate = SecretTLSCertificate, &c
	case *tlsv3.Secret_ValidationContext:
		at := rootPath("validation_context")
		out.Kind, out.ValidationContext = SecretValidationContext, buildValidationContext(ps, &at, t.ValidationContext)
	case *tlsv3.Secret_SessionTicketKeys:
		out.Kind = SecretSessionTicketKeys
	case *tlsv3.Secret_GenericSecret:
		out.Kind = SecretGeneric
	}
	return out
}
