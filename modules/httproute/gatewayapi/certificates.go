package gatewayapi

import (
	"crypto/tls"

	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// resolveCertificates resolves an HTTPS listener's certificateRefs to certificates. Each
// reference must name a core Secret, in the Gateway's namespace or one whose
// ReferenceGrants let this Gateway refer to it, holding a PEM certificate and a matching
// key: anything else is a problem for the listener's ResolvedRefs condition. The valid
// references still serve, so one bad reference out of two does not take the listener down.
func resolveCertificates(gw *gatewayv1.Gateway, l *gatewayv1.Listener, idx *index, errs *problems[gatewayv1.ListenerConditionReason]) []*Certificate {
	if l.TLS == nil || len(l.TLS.CertificateRefs) == 0 {
		errs.add(gatewayv1.ListenerReasonInvalidCertificateRef,
			"an HTTPS listener needs tls.certificateRefs naming a kubernetes.io/tls Secret")
		return nil
	}
	hostname := ""
	if l.Hostname != nil {
		hostname = listenerDomain(l.Hostname)
	}
	var certs []*Certificate
	for i, ref := range l.TLS.CertificateRefs {
		group, kind := "", "Secret"
		if ref.Group != nil {
			group = string(*ref.Group)
		}
		if ref.Kind != nil {
			kind = string(*ref.Kind)
		}
		ns := gw.Namespace
		if ref.Namespace != nil && *ref.Namespace != "" {
			ns = string(*ref.Namespace)
		}
		name := string(ref.Name)
		if group != "" || kind != "Secret" {
			errs.add(gatewayv1.ListenerReasonInvalidCertificateRef,
				"certificateRefs[%d]: %s is not supported, only core Secrets are", i, groupKind(group, kind))
			continue
		}
		from := objectRef{group: gatewayv1.GroupName, kind: "Gateway", namespace: gw.Namespace}
		to := objectRef{group: "", kind: "Secret", namespace: ns, name: name}
		if !idx.grants.permits(from, to) {
			errs.add(gatewayv1.ListenerReasonRefNotPermitted,
				"certificateRefs[%d]: Secret %s/%s is in another namespace and no ReferenceGrant there lets Gateways in %s refer to it",
				i, ns, name, gw.Namespace)
			continue
		}
		secret := idx.secrets[key(ns, name)]
		if secret == nil {
			errs.add(gatewayv1.ListenerReasonInvalidCertificateRef,
				"certificateRefs[%d]: Secret %s/%s does not exist", i, ns, name)
			continue
		}
		certPEM, keyPEM := secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			errs.add(gatewayv1.ListenerReasonInvalidCertificateRef,
				"certificateRefs[%d]: Secret %s/%s does not hold a usable certificate and key in %s and %s: %v",
				i, ns, name, corev1.TLSCertKey, corev1.TLSPrivateKeyKey, err)
			continue
		}
		certs = append(certs, &Certificate{
			Hostname: hostname,
			Secret:   key(ns, name),
			CertPEM:  certPEM,
			KeyPEM:   keyPEM,
		})
	}
	return certs
}

// groupKind formats a group and kind as "Kind.group", or "Kind" for the core group.
func groupKind(group, kind string) string {
	if group == "" {
		return kind
	}
	return kind + "." + group
}
