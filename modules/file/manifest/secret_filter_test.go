package manifest

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
)

func secretCases() []testCase {
	secret := func(rest string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: cert, namespace: shop}\n" + rest
	}
	return []testCase{
		{
			name:    "TLS secret with base64 data",
			yaml:    secret("type: kubernetes.io/tls\ndata: {tls.crt: Q0VSVA==, tls.key: S0VZ}\n"),
			objects: []string{"tlssecrets shop/cert@0"},
			check: func(t *testing.T, objs []Object) {
				s := objs[0].Obj.(*corev1.Secret)
				checkEqual(t, "apiVersion", s.APIVersion, "v1")
				checkEqual(t, "kind", s.Kind, "Secret")
				checkEqual(t, "tls.crt", string(s.Data[corev1.TLSCertKey]), "CERT")
				checkEqual(t, "tls.key", string(s.Data[corev1.TLSPrivateKeyKey]), "KEY")
			},
		},
		{
			name:    "stringData is merged into data and wins",
			yaml:    secret("type: kubernetes.io/tls\ndata: {tls.crt: T0xE, ca.crt: Q0E=}\nstringData: {tls.crt: NEW, tls.key: KEY}\n"),
			objects: []string{"tlssecrets shop/cert@0"},
			check: func(t *testing.T, objs []Object) {
				s := objs[0].Obj.(*corev1.Secret)
				checkEqual(t, "stringData", len(s.StringData), 0)
				checkEqual(t, "data keys", len(s.Data), 3)
				checkEqual(t, "tls.crt", string(s.Data[corev1.TLSCertKey]), "NEW")
				checkEqual(t, "tls.key", string(s.Data[corev1.TLSPrivateKeyKey]), "KEY")
				checkEqual(t, "ca.crt", string(s.Data["ca.crt"]), "CA")
			},
		},
		{
			name:    "namespace defaults",
			yaml:    "apiVersion: v1\nkind: Secret\nmetadata: {name: cert}\ntype: kubernetes.io/tls\nstringData: {tls.crt: C, tls.key: K}\n",
			objects: []string{"tlssecrets default/cert@0"},
		},
		{
			name:   "an Opaque secret is refused by its type",
			yaml:   secret("type: Opaque\nstringData: {password: hunter2}\n"),
			errors: []string{`0 type: Invalid value: "Opaque": only Secrets of type kubernetes.io/tls`},
		},
		{
			name:   "no type means Opaque",
			yaml:   secret("data: {tls.crt: Qw==, tls.key: Sw==}\n"),
			errors: []string{`0 type: Invalid value: "Opaque"`},
		},
		{
			name:   "a service account token is refused by its type",
			yaml:   secret("type: kubernetes.io/service-account-token\n"),
			errors: []string{`0 type: Invalid value: "kubernetes.io/service-account-token"`},
		},
		{
			name: "certificate and key are required",
			yaml: secret("type: kubernetes.io/tls\nstringData: {ca.crt: CA}\n"),
			errors: []string{
				"0 data[tls.crt]: Required value",
				"0 data[tls.key]: Required value",
			},
		},
		{
			name:   "key names",
			yaml:   secret("type: kubernetes.io/tls\nstringData: {tls.crt: C, tls.key: K, \"bad/key\": x}\n"),
			errors: []string{`0 data[bad/key]: Invalid value: "bad/key"`},
		},
		{
			name:   "data must be base64",
			yaml:   secret("type: kubernetes.io/tls\ndata: {tls.crt: '!!!', tls.key: S0VZ}\n"),
			errors: []string{"0 : Invalid value: illegal base64 data"},
		},
		{
			name:   "unknown fields",
			yaml:   secret("type: kubernetes.io/tls\nstringData: {tls.crt: C, tls.key: K}\nstringdata: {}\n"),
			errors: []string{"0 stringdata: unknown field"},
		},
	}
}

// TestDecodeSecret runs secretCases and one case too large for the fuzz seed corpus.
func TestDecodeSecret(t *testing.T) {
	run(t, append(secretCases(), testCase{
		name:   "too large",
		yaml:   "apiVersion: v1\nkind: Secret\nmetadata: {name: big}\ntype: kubernetes.io/tls\nstringData: {tls.crt: " + strings.Repeat("c", corev1.MaxSecretSize) + ", tls.key: K}\n",
		errors: []string{"0 data: Too long"},
	}))
}

func httpFilterCases() []testCase {
	filter := func(spec string) string {
		return "apiVersion: gateway.caddymesh.io/v1alpha1\nkind: HTTPFilter\nmetadata: {name: add-header, namespace: shop}\n" + spec
	}
	return []testCase{
		{
			name: "handlers kept as written",
			yaml: filter(`spec:
  handlers:
  - handler: headers
    response:
      set: {X-Mesh: [caddymesh]}
  - {handler: vars, answer: 42}
`),
			objects: []string{"httpfilters shop/add-header@0"},
			check: func(t *testing.T, objs []Object) {
				f := objs[0].Obj.(*gatewayv1alpha1.HTTPFilter)
				checkEqual(t, "apiVersion", f.APIVersion, "gateway.caddymesh.io/v1alpha1")
				checkEqual(t, "kind", f.Kind, "HTTPFilter")
				checkEqual(t, "handlers", len(f.Spec.Handlers), 2)
				checkEqual(t, "handler 0", string(f.Spec.Handlers[0].Raw), `{"handler":"headers","response":{"set":{"X-Mesh":["caddymesh"]}}}`)
				checkEqual(t, "handler 1", string(f.Spec.Handlers[1].Raw), `{"answer":42,"handler":"vars"}`)
			},
		},
		{
			name:    "as JSON",
			yaml:    `{"apiVersion": "gateway.caddymesh.io/v1alpha1", "kind": "HTTPFilter", "metadata": {"name": "f"}, "spec": {"handlers": [{"handler": "encode"}]}}`,
			objects: []string{"httpfilters default/f@0"},
		},
		{
			name:   "spec is required",
			yaml:   filter(""),
			errors: []string{"0 spec: Required value", "0 spec.handlers: Required value"},
		},
		{
			name:   "at least one handler",
			yaml:   filter("spec: {handlers: []}\n"),
			errors: []string{"0 spec.handlers: Required value"},
		},
		{
			name: "handlers are objects naming their module",
			yaml: filter("spec: {handlers: [headers, {response: {}}, {handler: 3}, {handler: \"\"}, null]}\n"),
			errors: []string{
				`0 spec.handlers[0]: Invalid value: "\"headers\"": must be a JSON object`,
				`0 spec.handlers[1]: Invalid value: "{\"response\":{}}": must have a "handler" key`,
				`0 spec.handlers[2]: Invalid value: "{\"handler\":3}": "handler" must be a string, not 3`,
				`0 spec.handlers[3]: Invalid value: "{\"handler\":\"\"}": "handler" must not be empty`,
				`0 spec.handlers[4]: Invalid value: "null": must be a JSON object`,
			},
		},
		{
			name:   "at most sixteen handlers",
			yaml:   filter("spec:\n  handlers:\n" + strings.Repeat("  - {handler: vars}\n", 17)),
			errors: []string{"0 spec.handlers: Too many: 17: must have at most 16 items"},
		},
		{
			name:   "unknown spec fields",
			yaml:   filter("spec: {handlers: [{handler: vars}], handler: vars}\n"),
			errors: []string{"0 spec.handler: unknown field"},
		},
		{
			name:   "unknown version",
			yaml:   "apiVersion: gateway.caddymesh.io/v1\nkind: HTTPFilter\nmetadata: {name: f}\n",
			errors: []string{`0 apiVersion: Unsupported value: "gateway.caddymesh.io/v1"`},
		},
	}
}

func TestDecodeHTTPFilter(t *testing.T) { run(t, httpFilterCases()) }
