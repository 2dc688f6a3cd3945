package resource

import (
	"crypto/tls"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// CommonTLS is what server and client TLS contexts share: the certificates to present and
// how to verify the peer. Each can be inline, fetched by SDS (a secret name to subscribe
// to) or provided by a certificate provider plugin, as proxyless gRPC meshes do.
type CommonTLS struct {
	// Certificates are the inline certificates to present.
	Certificates []TLSCertificate
	// CertificateSDS names the SDS secrets holding certificates to present.
	CertificateSDS []string
	// CertificateProvider is the plugin instance providing the certificate, when used.
	CertificateProvider *CertificateProvider
	// ValidationContext is the inline peer validation, or the default part of a combined
	// validation context; nil when none is inline.
	ValidationContext *ValidationContext
	// ValidationContextSDS names the SDS secret holding the peer validation context
	// (alone or as the dynamic part of a combined one); "" when none.
	ValidationContextSDS string
	// ValidationProvider is the plugin instance providing the trusted CAs, when used.
	ValidationProvider *CertificateProvider
	// ALPNProtocols are offered or accepted, in preference order.
	ALPNProtocols []string
	// MinVersion and MaxVersion bound the protocol version as crypto/tls constants
	// (tls.VersionTLS12, ...); 0 means Envoy's default.
	MinVersion, MaxVersion uint16
}

// CertificateProvider names a certificate provider plugin instance and the certificate
// within it.
type CertificateProvider struct {
	// Instance names the plugin instance, as configured in the client's bootstrap.
	Instance string
	// Certificate names the certificate within the instance; often "" or "default".
	Certificate string
}

// DownstreamTLSContext is how a listener's filter chain terminates TLS.
type DownstreamTLSContext struct {
	CommonTLS
	// RequireClientCertificate demands a client certificate (mTLS).
	RequireClientCertificate bool
	// RequireSNI refuses handshakes without a server name.
	RequireSNI bool
	pb         *tlsv3.DownstreamTlsContext
}

// Message returns the context's proto, for fields this view does not flatten. It may
// hold private keys: do not log it, and do not modify it.
func (d *DownstreamTLSContext) Message() *tlsv3.DownstreamTlsContext { return d.pb }

// UpstreamTLSContext is how a cluster originates TLS to its endpoints.
type UpstreamTLSContext struct {
	CommonTLS
	// SNI is the server name to send; "" for none.
	SNI string
	// AutoHostSNI sends the request's host as the server name instead of SNI.
	AutoHostSNI bool
	// AllowRenegotiation accepts server-initiated renegotiation (TLS 1.2 only).
	AllowRenegotiation bool
	pb                 *tlsv3.UpstreamTlsContext
}

// Message returns the context's proto, for fields this view does not flatten. It may
// hold private keys: do not log it, and do not modify it.
func (u *UpstreamTLSContext) Message() *tlsv3.UpstreamTlsContext { return u.pb }

// tlsVersions maps the proto's protocol versions to crypto/tls constants; TLS_AUTO is 0.
var tlsVersions = map[tlsv3.TlsParameters_TlsProtocol]uint16{
	tlsv3.TlsParameters_TLSv1_0: tls.VersionTLS10,
	tlsv3.TlsParameters_TLSv1_1: tls.VersionTLS11,
	tlsv3.TlsParameters_TLSv1_2: tls.VersionTLS12,
	tlsv3.TlsParameters_TLSv1_3: tls.VersionTLS13,
}

// downstreamTLS decodes a filter chain's transport socket when it is TLS; it returns nil
// for any other transport socket (raw buffer, proxy protocol, ...).
func downstreamTLS(ps *problems, at *path, ts *corev3.TransportSocket) *DownstreamTLSContext {
	m := new(tlsv3.DownstreamTlsContext)
	if !holds(ts.GetTypedConfig(), m) {
		return nil
	}
	tat := at.at("typed_config")
	if !unpackNested(ps, &tat, ts.GetTypedConfig(), m) {
		return nil
	}
	cat := tat.at("common_tls_context")
	return &DownstreamTLSContext{
		CommonTLS:                buildCommonTLS(ps, &cat, m.GetCommonTlsContext()),
		RequireClientCertificate: m.GetRequireClientCertificate().GetValue(),
		RequireSNI:               m.GetRequireSni().GetValue(),
		pb:                       m,
	}
}

// upstreamTLS decodes a cluster's transport socket when it is TLS; it returns nil for any
// other transport socket.
func upstreamTLS(ps *problems, at *path, ts *corev3.TransportSocket) *UpstreamTLSContext {
	m := new(tlsv3.UpstreamTlsContext)
	if !holds(ts.GetTypedConfig(), m) {
		return nil
	}
	tat := at.at("typed_config")
	if !unpackNested(ps, &tat, ts.GetTypedConfig(), m) {
		return nil
	}
	cat := tat.at("common_tls_context")
	return &UpstreamTLSContext{
		CommonTLS:          buildCommonTLS(ps, &cat, m.GetCommonTlsContext()),
		SNI:                m.GetSni(),
		AutoHostSNI:        m.GetAutoHostSni(),
		AllowRenegotiation: m.GetAllowRenegotiation(),
		pb:                 m,
	}
}

// buildCommonTLS flattens a CommonTlsContext, checking its inline certificates and
// validation context as a Secret's.
func buildCommonTLS(ps *problems, at *path, c *tlsv3.CommonTlsContext) CommonTLS {
	out := CommonTLS{
		ALPNProtocols: c.GetAlpnProtocols(),
		MinVersion:    tlsVersions[c.GetTlsParams().GetTlsMinimumProtocolVersion()],
		MaxVersion:    tlsVersions[c.GetTlsParams().GetTlsMaximumProtocolVersion()],
	}
	if n := len(c.GetTlsCertificates()); n > 0 {
		certs := at.at("tls_certificates")
		out.Certificates = make([]TLSCertificate, n)
		for i, tc := range c.GetTlsCertificates() {
			cat := certs.item(i)
			out.Certificates[i] = buildTLSCertificate(ps, &cat, tc)
		}
	}
	for _, sds := range c.GetTlsCertificateSdsSecretConfigs() {
		out.CertificateSDS = append(out.CertificateSDS, sds.GetName())
	}
	if p := c.GetTlsCertificateProviderInstance(); p != nil {
		out.CertificateProvider = &CertificateProvider{Instance: p.GetInstanceName(), Certificate: p.GetCertificateName()}
	} else if p := c.GetTlsCertificateCertificateProviderInstance(); p != nil {
		out.CertificateProvider = &CertificateProvider{Instance: p.GetInstanceName(), Certificate: p.GetCertificateName()}
	}
	switch v := c.GetValidationContextType().(type) {
	case *tlsv3.CommonTlsContext_ValidationContext:
		vat := at.at("validation_context")
		out.ValidationContext = buildValidationContext(ps, &vat, v.ValidationContext)
	case *tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig:
		out.ValidationContextSDS = v.ValidationContextSdsSecretConfig.GetName()
	case *tlsv3.CommonTlsContext_ValidationContextCertificateProviderInstance:
		p := v.ValidationContextCertificateProviderInstance
		out.ValidationProvider = &CertificateProvider{Instance: p.GetInstanceName(), Certificate: p.GetCertificateName()}
	case *tlsv3.CommonTlsContext_CombinedValidationContext:
		combined := v.CombinedValidationContext
		if d := combined.GetDefaultValidationContext(); d != nil {
			vat := at.at("combined_validation_context")
			dat := vat.at("default_validation_context")
			out.ValidationContext = buildValidationContext(ps, &dat, d)
		}
		out.ValidationContextSDS = combined.GetValidationContextSdsSecretConfig().GetName()
		if p := combined.GetValidationContextCertificateProviderInstance(); p != nil {
			out.ValidationProvider = &CertificateProvider{Instance: p.GetInstanceName(), Certificate: p.GetCertificateName()}
		}
	}
	return out
}
