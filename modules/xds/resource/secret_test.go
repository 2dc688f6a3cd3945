package resource

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

func TestDecodeSecret(t *testing.T) {
	p := getPKI(t)
	tests := []struct {
		name    string
		secret  func() *tlsv3.Secret
		reasons []string
		check   func(t *testing.T, s *Secret)
	}{
		{
			name:   "inline certificate",
			secret: func() *tlsv3.Secret { return validSecret(t) },
			check: func(t *testing.T, s *Secret) {
				c := s.TLSCertificate
				if s.Kind != SecretTLSCertificate || c == nil || !c.HasPrivateKey || c.Leaf == nil {
					t.Fatalf("secret = %+v", s)
				}
				if !c.NotAfter.Equal(p.notAfter) || c.NotBefore.IsZero() {
					t.Errorf("validity %v – %v, want until %v", c.NotBefore, c.NotAfter, p.notAfter)
				}
				if want := []string{"web.default.svc", "spiffe://cluster.local/ns/default/sa/web"}; !slices.Equal(c.SANs, want) {
					t.Errorf("SANs = %q, want %q", c.SANs, want)
				}
				if c.PrivateKey.Kind != DataInline || c.PrivateKey.Inline != nil || c.CertificateChain.Kind != DataInline {
					t.Errorf("data sources: chain %v, key %+v", c.CertificateChain.Kind, c.PrivateKey)
				}
				kp, err := c.KeyPair()
				if err != nil || len(kp.Certificate) != 1 {
					t.Errorf("key pair: %v", err)
				}
			},
		},
		{
			name: "certificate in files",
			secret: func() *tlsv3.Secret {
				return &tlsv3.Secret{Name: "files", Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
					CertificateChain: &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: "/etc/certs/cert.pem"}},
					PrivateKey:       &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: "/etc/certs/key.pem"}},
				}}}
			},
			check: func(t *testing.T, s *Secret) {
				c := s.TLSCertificate
				if c.Leaf != nil || !c.HasPrivateKey || c.CertificateChain.Filename != "/etc/certs/cert.pem" || c.PrivateKey.Filename != "/etc/certs/key.pem" {
					t.Errorf("certificate = %+v", c)
				}
				if _, err := c.KeyPair(); err != errNotInline {
					t.Errorf("key pair error = %v", err)
				}
			},
		},
		{
			name: "certificate without a key",
			secret: func() *tlsv3.Secret {
				s := validSecret(t)
				s.GetTlsCertificate().PrivateKey = nil
				return s
			},
			check: func(t *testing.T, s *Secret) {
				if s.TLSCertificate.HasPrivateKey || s.TLSCertificate.PrivateKey.Kind != DataNone {
					t.Errorf("certificate = %+v", s.TLSCertificate)
				}
			},
		},
		{
			name: "inline chain that is not PEM",
			secret: func() *tlsv3.Secret {
				s := validSecret(t)
				s.GetTlsCertificate().CertificateChain = inlineString("garbage")
				return s
			},
			reasons: []string{"tls_certificate.certificate_chain: no PEM certificate found"},
		},
		{
			name: "inline chain with a corrupt certificate",
			secret: func() *tlsv3.Secret {
				s := validSecret(t)
				s.GetTlsCertificate().CertificateChain = inlineString("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
				return s
			},
			reasons: []string{"tls_certificate.certificate_chain: certificate 0 does not parse"},
		},
		{
			name: "key of another certificate",
			secret: func() *tlsv3.Secret {
				s := validSecret(t)
				s.GetTlsCertificate().PrivateKey = inlineBytes(p.otherKeyPEM)
				return s
			},
			reasons: []string{"tls_certificate.private_key: private key does not go with the certificate chain"},
		},
		{
			name: "validation context",
			secret: func() *tlsv3.Secret {
				return &tlsv3.Secret{Name: "ROOTCA", Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
					TrustedCa: inlineBytes(append(append([]byte{}, p.caPEM...), p.leafPEM...)),
					MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{
						{SanType: tlsv3.SubjectAltNameMatcher_DNS, Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Suffix{Suffix: ".svc"}}},
						{SanType: tlsv3.SubjectAltNameMatcher_OTHER_NAME, Oid: "1.3.6.1.4.1.311.20.2.3", Matcher: regexMatcher(".+@corp")},
					},
					MatchSubjectAltNames:  []*matcherv3.StringMatcher{prefixMatcher("spiffe://")},
					VerifyCertificateSpki: []string{"NvqYIYSbgK2vCJpQhObf77vv+bQWtc5ek5RIOwPiC9A="},
				}}}
			},
			check: func(t *testing.T, s *Secret) {
				v := s.ValidationContext
				if s.Kind != SecretValidationContext || v == nil || len(v.TrustedCAs) != 2 || v.TrustedCAs[0].Subject.CommonName != "test CA" {
					t.Fatalf("validation context = %+v", v)
				}
				if len(v.SANMatchers) != 3 || v.SANMatchers[0].Type != SANDNS || v.SANMatchers[1].Type != SANOtherName ||
					v.SANMatchers[1].OID == "" || v.SANMatchers[2].Type != SANAny || !v.SANMatchers[2].Matcher.Match("spiffe://x") {
					t.Errorf("SAN matchers = %+v", v.SANMatchers)
				}
				if !v.SANMatchers[1].Matcher.Match("me@corp") || v.SANMatchers[1].Matcher.Match("me@corp.com") {
					t.Error("regex SAN matcher must match whole names")
				}
				if len(v.SPKIPins) != 1 {
					t.Errorf("SPKI pins = %q", v.SPKIPins)
				}
			},
		},
		{
			name: "validation context with bad CA bundle and SAN regex",
			secret: func() *tlsv3.Secret {
				return &tlsv3.Secret{Name: "ROOTCA", Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
					TrustedCa: inlineString("not a bundle"),
					MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{
						{SanType: tlsv3.SubjectAltNameMatcher_URI, Matcher: regexMatcher("spiffe://(")},
					},
				}}}
			},
			reasons: []string{
				"validation_context.trusted_ca: no PEM certificate found",
				"validation_context.match_typed_subject_alt_names[0].matcher.safe_regex: regular expression does not compile",
			},
		},
		{
			name: "generic secret",
			secret: func() *tlsv3.Secret {
				return &tlsv3.Secret{Name: "token", Type: &tlsv3.Secret_GenericSecret{GenericSecret: &tlsv3.GenericSecret{Secret: inlineString("s3cr3t")}}}
			},
			check: func(t *testing.T, s *Secret) {
				if s.Kind != SecretGeneric || s.TLSCertificate != nil || s.ValidationContext != nil {
					t.Errorf("secret = %+v", s)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeSecret(mustAny(t, tt.secret()))
			checkReasons(t, err, tt.reasons)
			if err == nil && tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

// TestSecretNeverShowsItsKey checks every way a view is commonly printed or serialized:
// a private key must not leak into logs or the admin API.
func TestSecretNeverShowsItsKey(t *testing.T) {
	p := getPKI(t)
	s, err := DecodeSecret(mustAny(t, validSecret(t)))
	if err != nil {
		t.Fatal(err)
	}
	keyBody := keyMaterial(t, p.keyPEM)
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := json.Marshal(s.TLSCertificate)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", s), "%+v": fmt.Sprintf("%+v", s), "%#v": fmt.Sprintf("%#v", s), "%s": fmt.Sprintf("%s", s),
		"certificate %+v": fmt.Sprintf("%+v", *s.TLSCertificate), "certificate %#v": fmt.Sprintf("%#v", *s.TLSCertificate),
		"JSON": string(js), "certificate JSON": string(tc),
	}
	for how, out := range outputs {
		for _, secret := range keyBody {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows key material:\n%s", how, out)
			}
		}
	}
	if got := fmt.Sprint(s); got != `Secret "default"` {
		t.Errorf("String() = %q", got)
	}
	var back struct {
		Name           string
		Kind           string
		TLSCertificate struct {
			HasPrivateKey bool
			SANs          []string
		}
	}
	if err := json.Unmarshal(js, &back); err != nil || back.Name != "default" || back.Kind != "TLSCertificate" ||
		!back.TLSCertificate.HasPrivateKey || len(back.TLSCertificate.SANs) != 2 {
		t.Errorf("JSON %s lacks the view's fields (%v)", js, err)
	}
}

// keyMaterial returns forms in which a PEM key could appear in output: its base64 lines,
// and the DER in Go's %v byte-list and %#v hex forms.
func keyMaterial(t *testing.T, keyPEM []byte) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(string(keyPEM), "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(out, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseECPrivateKey(der); err != nil {
		t.Fatal(err)
	}
	mid := der[8:24]
	out = append(out, strings.Trim(fmt.Sprint(mid), "[]"), strings.Trim(fmt.Sprintf("%#v", mid), "[]byte{}"))
	return out
}
