package resource

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
)

// redactedValue replaces inline secret bytes in what is shown.
const redactedValue = "[redacted]"

// Redacted returns a copy of the secret's proto with every inline private key, password,
// session ticket key and generic secret replaced by "[redacted]", for display: the admin
// API shows xDS resources as protojson, and a secret must not leak through it. File names
// and SDS references are kept, since they are not secret and help debugging.
func (s *Secret) Redacted() proto.Message {
	m := proto.Clone(s.msg).(*tlsv3.Secret)
	switch t := m.GetType().(type) {
	case *tlsv3.Secret_TlsCertificate:
		c := t.TlsCertificate
		redact(c.GetPrivateKey())
		redact(c.GetPassword())
		redact(c.GetOcspStaple()) // not secret, but can be large; not needed for display
	case *tlsv3.Secret_SessionTicketKeys:
		for _, k := range t.SessionTicketKeys.GetKeys() {
			redact(k)
		}
	case *tlsv3.Secret_GenericSecret:
		redact(t.GenericSecret.GetSecret())
		for _, v := range t.GenericSecret.GetSecrets() {
			redact(v)
		}
	}
	return m
}

// redact replaces an inline data source's content; file and environment references stay.
func redact(ds *corev3.DataSource) {
	switch ds.GetSpecifier().(type) {
	case *corev3.DataSource_InlineBytes, *corev3.DataSource_InlineString:
		ds.Specifier = &corev3.DataSource_InlineString{InlineString: redactedValue}
	}
}
