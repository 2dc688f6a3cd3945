package manifest

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// prepareSecret handles a Secret the way the API server does on create, for the one type
// the mesh reads: the certificate and key of a TLS Secret (model.TLSSecrets), which Gateway
// listeners refer to. stringData is merged into data (its values win) and dropped, the type
// defaults to Opaque, and the keys and size are checked. Any other type is an error naming
// it: such Secrets are never loaded, so that a file of mixed Secrets says which ones were
// left out rather than silently ignoring them.
func prepareSecret(obj model.Object, _ string) field.ErrorList {
	s := obj.(*corev1.Secret)
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if s.Type != corev1.SecretTypeTLS {
		return field.ErrorList{field.Invalid(field.NewPath("type"), s.Type,
			"only Secrets of type "+string(corev1.SecretTypeTLS)+" (a certificate and its key) are read; other Secrets are not loaded")}
	}
	mergeStringData(s)
	return validateTLSSecret(s)
}

// mergeStringData moves stringData into data, as the API server does: stringData is a
// write-only convenience, and a key in both takes stringData's value.
func mergeStringData(s *corev1.Secret) {
	if len(s.StringData) == 0 {
		s.StringData = nil
		return
	}
	if s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

// validateTLSSecret checks data as the API server's ValidateSecret does for a TLS Secret:
// valid key names, at most corev1.MaxSecretSize bytes in all, and both tls.crt and tls.key
// present. (Like the API server, it does not parse the PEM: the consumer reports a bad
// certificate on the Gateway that uses it.)
func validateTLSSecret(s *corev1.Secret) field.ErrorList {
	data := field.NewPath("data")
	var errs field.ErrorList
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a stable order of errors
	size := 0
	for _, k := range keys {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(data.Key(k), k, msg))
		}
		size += len(s.Data[k])
	}
	if size > corev1.MaxSecretSize {
		errs = append(errs, field.TooLong(data, "", corev1.MaxSecretSize))
	}
	for _, k := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey} {
		if _, ok := s.Data[k]; !ok {
			errs = append(errs, field.Required(data.Key(k), "a Secret of type "+string(corev1.SecretTypeTLS)+" needs "+k))
		}
	}
	return errs
}
