package resource

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// pemCertificate is the PEM block type of an X.509 certificate.
const pemCertificate = "CERTIFICATE"

// TLSCertificate is a certificate chain and its private key. The view never holds the key's
// bytes, so that printing or serializing it cannot leak them; KeyPair reads them from the
// proto when a consumer actually needs to serve the certificate.
type TLSCertificate struct {
	// CertificateChain is where the PEM chain comes from; Inline holds it when sent in the
	// resource.
	CertificateChain DataSource
	// PrivateKey says where the key comes from, without its bytes: Inline is always nil.
	PrivateKey DataSource
	// HasPrivateKey is set when the certificate comes with a key in any form: a private
	// key, a private key provider, or a PKCS#12 bundle.
	HasPrivateKey bool
	// Leaf is the parsed first certificate of an inline chain; nil otherwise. It is left
	// out of JSON, which shows NotBefore, NotAfter and SANs instead.
	Leaf *x509.Certificate `json:"-"`
	// NotBefore and NotAfter bound the leaf's validity, for rotation; zero when the chain
	// is not inline.
	NotBefore, NotAfter time.Time
	// SANs are the leaf's subject alternative names: DNS names, URIs (SPIFFE IDs), IP
	// addresses and e-mail addresses, in that order.
	SANs []string
	pb   *tlsv3.TlsCertificate
}

// Message returns the certificate's proto. It holds the private key: do not log it, and
// do not modify it.
func (c *TLSCertificate) Message() *tlsv3.TlsCertificate { return c.pb }

// errNotInline is returned by KeyPair for material this package cannot read by itself.
var errNotInline = errors.New("certificate chain and private key must both be inline")

// KeyPair builds a crypto/tls certificate from the inline chain and key, for a consumer
// that serves or presents it. Material in files, environment variables or providers must
// be loaded by the consumer, which knows where it runs.
func (c *TLSCertificate) KeyPair() (tls.Certificate, error) {
	if c.pb.GetPassword() != nil {
		return tls.Certificate{}, errors.New("password-protected private keys are not supported")
	}
	chain, key := inlineData(c.pb.GetCertificateChain()), inlineData(c.pb.GetPrivateKey())
	if chain == nil || key == nil {
		return tls.Certificate{}, errNotInline
	}
	return tls.X509KeyPair(chain, key)
}

// inlineData returns a data source's inline bytes, or nil when it is not inline.
func inlineData(ds *corev3.DataSource) []byte {
	switch s := ds.GetSpecifier().(type) {
	case *corev3.DataSource_InlineBytes:
		return s.InlineBytes
	case *corev3.DataSource_InlineString:
		return []byte(s.InlineString)
	}
	return nil
}

// buildTLSCertificate flattens a TlsCertificate and checks inline material as Envoy does
// when it loads it: the chain must hold a parseable certificate, and an inline key must
// belong to it. Problems never quote the key.
func buildTLSCertificate(ps *problems, at *path, c *tlsv3.TlsCertificate) TLSCertificate {
	out := TLSCertificate{
		CertificateChain: buildDataSource(c.GetCertificateChain()),
		PrivateKey:       buildDataSource(c.GetPrivateKey()).redacted(),
		HasPrivateKey: (c.GetPrivateKey() != nil && c.GetPrivateKey().GetSpecifier() != nil) ||
			c.GetPrivateKeyProvider() != nil || c.GetPkcs12() != nil,
		pb: c,
	}
	chain := out.CertificateChain.Inline
	if chain == nil {
		return out
	}
	cat := at.at("certificate_chain")
	certs, err := parseCertificates(chain)
	if err != nil {
		ps.addf(&cat, "%v", err)
		return out
	}
	out.Leaf = certs[0]
	out.NotBefore, out.NotAfter = out.Leaf.NotBefore, out.Leaf.NotAfter
	out.SANs = leafSANs(out.Leaf)
	if key := inlineData(c.GetPrivateKey()); key != nil && c.GetPassword() == nil {
		if _, err := tls.X509KeyPair(chain, key); err != nil {
			kat := at.at("private_key")
			ps.addf(&kat, "private key does not go with the certificate chain: %v", err)
		}
	}
	return out
}

// parseCertificates parses every certificate of a PEM bundle, failing on an empty bundle
// or any certificate that does not parse: Envoy refuses such a bundle rather than use part
// of it.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != pemCertificate {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %w", len(certs), err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return certs, nil
}

// leafSANs lists a certificate's subject alternative names as strings.
func leafSANs(c *x509.Certificate) []string {
	var sans []string
	sans = append(sans, c.DNSNames...)
	for _, u := range c.URIs {
		sans = append(sans, u.String())
	}
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	return append(sans, c.EmailAddresses...)
}

// ValidationContext is how a peer's certificate is verified: the CAs trusted and the names
// it must carry.
type ValidationContext struct {
	// TrustedCA is where the PEM bundle of trusted CAs comes from.
	TrustedCA DataSource
	// TrustedCAs are the parsed certificates of an inline bundle; nil otherwise.
	TrustedCAs []*x509.Certificate `json:"-"`
	// CAProvider is the certificate provider plugin instance supplying the CAs, when used.
	CAProvider *CertificateProvider
	// SANMatchers accept a peer when any of them matches one of its SANs; an empty list
	// accepts any SAN.
	SANMatchers []SANMatcher
	// SPKIPins pin the peer's public key: base64 SHA-256 of its SubjectPublicKeyInfo.
	SPKIPins []string
	// CertificateHashes pin the peer's certificate: hex SHA-256 of its DER.
	CertificateHashes []string
	pb                *tlsv3.CertificateValidationContext
}

// Message returns the validation context's proto. It is shared: do not modify it.
func (v *ValidationContext) Message() *tlsv3.CertificateValidationContext { return v.pb }

// SANType says which kind of subject alternative name a matcher applies to.
type SANType uint8

// The SAN types.
const (
	// SANAny matches any SAN type, as the deprecated match_subject_alt_names did.
	SANAny SANType = iota
	// SANEmail matches rfc822Name SANs.
	SANEmail
	// SANDNS matches dNSName SANs.
	SANDNS
	// SANURI matches uniformResourceIdentifier SANs, such as SPIFFE IDs.
	SANURI
	// SANIP matches iPAddress SANs in their text form.
	SANIP
	// SANOtherName matches otherName SANs of the matcher's OID.
	SANOtherName
)

var sanTypeNames = []string{"Any", "Email", "DNS", "URI", "IP", "OtherName"}

// String returns the type's name.
func (t SANType) String() string { return enumString(sanTypeNames, int(t)) }

// MarshalText makes JSON show the type's name.
func (t SANType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// SANMatcher is one accepted subject alternative name.
type SANMatcher struct {
	// Type is the kind of SAN the matcher applies to.
	Type SANType
	// Matcher is compared with each SAN of that type.
	Matcher StringMatcher
	// OID is the otherName type, for SANOtherName.
	OID string
}

// sanTypes maps the proto's SAN types; SAN_TYPE_UNSPECIFIED, which generated validation
// rejects, reads as SANAny.
var sanTypes = map[tlsv3.SubjectAltNameMatcher_SanType]SANType{
	tlsv3.SubjectAltNameMatcher_EMAIL:      SANEmail,
	tlsv3.SubjectAltNameMatcher_DNS:        SANDNS,
	tlsv3.SubjectAltNameMatcher_URI:        SANURI,
	tlsv3.SubjectAltNameMatcher_IP_ADDRESS: SANIP,
	tlsv3.SubjectAltNameMatcher_OTHER_NAME: SANOtherName,
}

// buildValidationContext flattens a CertificateValidationContext, parsing an inline CA
// bundle and compiling SAN regexes.
func buildValidationContext(ps *problems, at *path, v *tlsv3.CertificateValidationContext) *ValidationContext {
	out := &ValidationContext{
		TrustedCA:         buildDataSource(v.GetTrustedCa()),
		SPKIPins:          v.GetVerifyCertificateSpki(),
		CertificateHashes: v.GetVerifyCertificateHash(),
		pb:                v,
	}
	if p := v.GetCaCertificateProviderInstance(); p != nil {
		out.CAProvider = &CertificateProvider{Instance: p.GetInstanceName(), Certificate: p.GetCertificateName()}
	}
	if out.TrustedCA.Inline != nil {
		cas, err := parseCertificates(out.TrustedCA.Inline)
		if err != nil {
			tat := at.at("trusted_ca")
			ps.addf(&tat, "%v", err)
		}
		out.TrustedCAs = cas
	}
	typed := at.at("match_typed_subject_alt_names")
	for i, m := range v.GetMatchTypedSubjectAltNames() {
		item := typed.item(i)
		mat := item.at("matcher")
		out.SANMatchers = append(out.SANMatchers, SANMatcher{
			Type:    sanTypes[m.GetSanType()],
			Matcher: buildStringMatcher(ps, &mat, m.GetMatcher()),
			OID:     m.GetOid(),
		})
	}
	legacy := at.at("match_subject_alt_names")
	for i, m := range v.GetMatchSubjectAltNames() {
		item := legacy.item(i)
		out.SANMatchers = append(out.SANMatchers, SANMatcher{Type: SANAny, Matcher: buildStringMatcher(ps, &item, m)})
	}
	return out
}
