package manifest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// testCase is one manifest file and what decoding it must give.
type testCase struct {
	name string
	yaml string
	// objects lists the decoded objects as "kind key@doc", in order.
	objects []string
	// errors lists the errors as "doc field: message", in order; each message need only
	// be a prefix of the real one.
	errors []string
	// check inspects the decoded objects further (defaults, types).
	check func(t *testing.T, objs []Object)
}

func run(t *testing.T, tests []testCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, errs := Decode("test.yaml", []byte(tt.yaml))
			var gotObjs []string
			for _, o := range objs {
				gotObjs = append(gotObjs, fmt.Sprintf("%s %s@%d", o.Kind, o.Key, o.Doc))
			}
			if !equalStrings(gotObjs, tt.objects) {
				t.Errorf("objects:\n got %q\nwant %q", gotObjs, tt.objects)
			}
			if len(errs) != len(tt.errors) {
				t.Fatalf("got %d errors, want %d:\n%s", len(errs), len(tt.errors), formatErrors(errs))
			}
			for i, e := range errs {
				got := fmt.Sprintf("%d %s: %s", e.Doc, e.Field, e.Msg)
				if !strings.HasPrefix(got, tt.errors[i]) {
					t.Errorf("error %d:\n got %q\nwant %q...", i, got, tt.errors[i])
				}
				if e.File != "test.yaml" {
					t.Errorf("error %d names file %q", i, e.File)
				}
			}
			if tt.check != nil && len(objs) == len(tt.objects) {
				tt.check(t, objs)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func formatErrors(errs []*Error) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  %d %s: %s\n", e.Doc, e.Field, e.Msg)
	}
	return b.String()
}

// checkEqual fails the test when got differs from want.
func checkEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func documentCases() []testCase {
	return []testCase{
		{name: "empty file", yaml: ""},
		{name: "only comments and separators", yaml: "# nothing\n---\n---\n# still nothing\n"},
		{
			name: "leading separator and comment documents keep counting",
			yaml: `---
# a comment-only document
---
apiVersion: v1
kind: Namespace
metadata: {name: a}
---

---
apiVersion: v1
kind: Namespace
metadata: {name: b}
`,
			objects: []string{"namespaces a@1", "namespaces b@3"},
		},
		{
			name:    "adjacent separators count once, as kubectl splits them",
			yaml:    "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
			objects: []string{"namespaces a@0", "namespaces b@1"},
		},
		{
			name:    "CRLF line endings and a byte order mark",
			yaml:    "\ufeffapiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: a}\r\n---\r\napiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: b}\r\n",
			objects: []string{"namespaces a@0", "namespaces b@1"},
		},
		{
			name: "mixed valid and invalid documents",
			yaml: `apiVersion: v1
kind: Namespace
metadata: {name: ok-1}
---
apiVersion: v1
kind: Namespace
metadata: {name: Not_OK}
---
foo: [unclosed
---
apiVersion: v1
kind: Namespace
metadata: {name: ok-2}
`,
			objects: []string{"namespaces ok-1@0", "namespaces ok-2@3"},
			errors: []string{
				"1 metadata.name: Invalid value: \"Not_OK\"",
				"2 : invalid YAML:",
			},
		},
		{
			name: "broken separator stops the stream",
			yaml: `apiVersion: v1
kind: Namespace
metadata: {name: a}
--- not a comment
apiVersion: v1
kind: Namespace
metadata: {name: b}
`,
			errors: []string{"0 : invalid YAML stream, documents after this one were not read"},
		},
		{
			name:   "document is not an object",
			yaml:   "- a\n- b\n---\njust a string\n",
			errors: []string{"0 : must be an object with apiVersion and kind, not array", "1 : must be an object with apiVersion and kind, not string"},
		},
		{
			name:   "missing apiVersion and kind",
			yaml:   "kind: Service\n---\napiVersion: v1\n",
			errors: []string{"0 apiVersion: Required value", "1 kind: Required value"},
		},
		{
			name:   "unknown apiVersion",
			yaml:   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
			errors: []string{`0 apiVersion: Unsupported value: "apps/v1": supported values: "discovery.k8s.io/v1", "ext.burningxflame.github.com/v1"`},
		},
		{
			name:   "unknown kind",
			yaml:   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
			errors: []string{`0 kind: Unsupported value: "ConfigMap": supported values: "List", "Namespace", "Pod", "Secret", "Service"`},
		},
		{
			name:   "unknown kind in a known group",
			yaml:   "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: HTTPRoute\nmetadata: {name: x}\n",
			errors: []string{`0 kind: Unsupported value: "HTTPRoute": supported values: "TLSRoute"`},
		},
		{
			name: "unknown fields are reported with their path",
			yaml: `apiVersion: v1
kind: Service
metadata: {name: web, labelz: {}}
spec:
  ports: [{port: 80, targetport: 8080}]
`,
			errors: []string{"0 metadata.labelz: unknown field", "0 spec.ports[0].targetport: unknown field"},
		},
		{
			name: "unknown fields and invalid values are reported together",
			yaml: `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 0, extra: 1}]
`,
			errors: []string{"0 spec.ports[0].extra: unknown field", "0 spec.ports[0].port: Invalid value: 0"},
		},
		{
			name:   "field names are case-sensitive",
			yaml:   "apiVersion: v1\nkind: Namespace\nMetadata: {name: a}\n",
			errors: []string{"0 Metadata: unknown field", "0 metadata.name: Required value"},
		},
		{
			name:   "duplicate keys",
			yaml:   "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nmetadata: {name: b}\n",
			errors: []string{`0 : invalid YAML: yaml: unmarshal errors: line 4 of the document: key "metadata" already set in map`},
		},
		{
			name: "wrong value type",
			yaml: `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: eighty}]
`,
			errors: []string{"0 spec.ports.port: Invalid value: must be an integer of type int32, not string"},
		},
		{
			name:   "wrong metadata type",
			yaml:   "apiVersion: v1\nkind: Namespace\nmetadata: {name: 7}\n",
			errors: []string{"0 metadata.name: Invalid value: must be a string, not number"},
		},
		{
			name: "duplicate object in one file",
			yaml: `apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Namespace
metadata: {name: a}
`,
			objects: []string{"namespaces a@0"},
			errors:  []string{`1 metadata.name: Duplicate value: "Namespace a is already defined in document 0"`},
		},
		{
			name: "same name in different kinds or namespaces is fine",
			yaml: `apiVersion: v1
kind: Service
metadata: {name: a}
spec: {clusterIP: None}
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: other}
spec: {clusterIP: None}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: a}
addressType: IPv4
`,
			objects: []string{"services default/a@0", "services other/a@1", "endpointslices default/a@2"},
		},
		{
			name: "List items are decoded one by one",
			yaml: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: a}
- apiVersion: v1
  kind: Namespace
  metadata: {name: B}
- null
- apiVersion: v1
  kind: List
  items: []
- apiVersion: v1
  kind: Service
  metadata: {name: svc}
  spec: {ports: [{port: 80}], bogus: true}
`,
			objects: []string{"namespaces a@0"},
			errors: []string{
				`0 items[1].metadata.name: Invalid value: "B"`,
				"0 items[2]: must be an object, not null",
				"0 items[3].kind: a List may not contain another List",
				"0 items[4].spec.bogus: unknown field",
			},
		},
		{
			name:   "List with unknown fields",
			yaml:   "apiVersion: v1\nkind: List\nitems: []\nextra: 1\n",
			errors: []string{"0 extra: unknown field"},
		},
	}
}

func TestDecodeDocuments(t *testing.T) { run(t, documentCases()) }

func metadataCases() []testCase {
	return []testCase{
		{
			name:    "namespace defaults to default",
			yaml:    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
			objects: []string{"pods default/p@0"},
			check: func(t *testing.T, objs []Object) {
				checkEqual(t, "namespace", objs[0].Obj.GetNamespace(), "default")
			},
		},
		{
			name:   "name is required",
			yaml:   "apiVersion: v1\nkind: Pod\nmetadata: {namespace: a}\n",
			errors: []string{"0 metadata.name: Required value"},
		},
		{
			name:   "name must be a DNS subdomain",
			yaml:   "apiVersion: v1\nkind: Pod\nmetadata: {name: Pod_1}\n",
			errors: []string{`0 metadata.name: Invalid value: "Pod_1": a lowercase RFC 1123 subdomain`},
		},
		{
			name:    "dotted names are fine for subdomain kinds",
			yaml:    "apiVersion: v1\nkind: Pod\nmetadata: {name: p.1}\n",
			objects: []string{"pods default/p.1@0"},
		},
		{
			name:   "service name must be a DNS label",
			yaml:   "apiVersion: v1\nkind: Service\nmetadata: {name: web.v1}\nspec: {clusterIP: None}\n",
			errors: []string{`0 metadata.name: Invalid value: "web.v1": must not contain dots`},
		},
		{
			name:   "namespace must be a DNS label",
			yaml:   "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a.b}\n",
			errors: []string{`0 metadata.namespace: Invalid value: "a.b"`},
		},
		{
			name:   "cluster-scoped kinds have no namespace",
			yaml:   "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, namespace: b}\n",
			errors: []string{"0 metadata.namespace: Forbidden: not allowed on this type"},
		},
		{
			name: "labels and annotations are validated",
			yaml: `apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {"bad key!": x, app: "bad value!"}
  annotations: {"/": x}
`,
			errors: []string{
				`0 metadata.labels: Invalid value: "bad key!": name part must consist of`,
				`0 metadata.labels: Invalid value: "bad value!": a valid label must be`,
				`0 metadata.annotations: Invalid value: "/": name part must be non-empty`,
				`0 metadata.annotations: Invalid value: "/": name part must consist of`,
				`0 metadata.annotations: Invalid value: "/": prefix part must be non-empty`,
			},
		},
	}
}

func TestDecodeMetadata(t *testing.T) { run(t, metadataCases()) }

func serviceCases() []testCase {
	service := func(spec string) string {
		return "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n" + spec
	}
	return []testCase{
		{
			name:   "repeated key",
			yaml:   service("  ports: [{port: 80}]\n  ports: [{port: 81}]\n"),
			errors: []string{`0 : invalid YAML: yaml: unmarshal errors: line 6 of the document: key "ports" already set in map`},
		},
		{
			name:    "defaults applied",
			yaml:    service("  selector: {app: web}\n  ports: [{name: http, port: 80}, {name: admin, port: 9000, targetPort: admin-port, protocol: UDP}]\n"),
			objects: []string{"services default/web@0"},
			check: func(t *testing.T, objs []Object) {
				s := objs[0].Obj.(*corev1.Service)
				checkEqual(t, "apiVersion", s.APIVersion, "v1")
				checkEqual(t, "kind", s.Kind, "Service")
				checkEqual(t, "type", s.Spec.Type, corev1.ServiceTypeClusterIP)
				checkEqual(t, "sessionAffinity", s.Spec.SessionAffinity, corev1.ServiceAffinityNone)
				checkEqual(t, "internalTrafficPolicy", *s.Spec.InternalTrafficPolicy, corev1.ServiceInternalTrafficPolicyCluster)
				checkEqual(t, "ports[0].protocol", s.Spec.Ports[0].Protocol, corev1.ProtocolTCP)
				checkEqual(t, "ports[0].targetPort", s.Spec.Ports[0].TargetPort, intstr.FromInt32(80))
				checkEqual(t, "ports[1].protocol", s.Spec.Ports[1].Protocol, corev1.ProtocolUDP)
				checkEqual(t, "ports[1].targetPort", s.Spec.Ports[1].TargetPort, intstr.FromString("admin-port"))
				checkEqual(t, "externalTrafficPolicy", s.Spec.ExternalTrafficPolicy, "")
			},
		},
		{
			name:    "load balancer defaults",
			yaml:    service("  type: LoadBalancer\n  sessionAffinity: ClientIP\n  ports: [{port: 443}]\n"),
			objects: []string{"services default/web@0"},
			check: func(t *testing.T, objs []Object) {
				s := objs[0].Obj.(*corev1.Service)
				checkEqual(t, "externalTrafficPolicy", s.Spec.ExternalTrafficPolicy, corev1.ServiceExternalTrafficPolicyCluster)
				checkEqual(t, "allocateLoadBalancerNodePorts", *s.Spec.AllocateLoadBalancerNodePorts, true)
				checkEqual(t, "affinity timeout", *s.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds, int32(10800))
			},
		},
		{name: "headless needs no ports", yaml: service("  clusterIP: None\n"), objects: []string{"services default/web@0"}},
		{
			name:    "external name needs no ports",
			yaml:    service("  type: ExternalName\n  externalName: example.com.\n"),
			objects: []string{"services default/web@0"},
			check: func(t *testing.T, objs []Object) {
				checkEqual(t, "internalTrafficPolicy", objs[0].Obj.(*corev1.Service).Spec.InternalTrafficPolicy == nil, true)
			},
		},
		{name: "ports required", yaml: service("  selector: {app: web}\n"), errors: []string{"0 spec.ports: Required value"}},
		{name: "missing spec means no ports", yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n", errors: []string{"0 spec.ports: Required value"}},
		{
			name:   "port range",
			yaml:   service("  ports: [{name: a, port: 0}, {name: b, port: 65536}]\n"),
			errors: []string{"0 spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive", "0 spec.ports[1].port: Invalid value: 65536"},
		},
		{
			name:   "protocol and type enums",
			yaml:   service("  type: Internal\n  ports: [{port: 80, protocol: HTTP}]\n"),
			errors: []string{`0 spec.type: Unsupported value: "Internal"`, `0 spec.ports[0].protocol: Unsupported value: "HTTP"`},
		},
		{
			name: "port names",
			yaml: service("  ports: [{port: 80}, {name: Web_1, port: 81}, {name: x, port: 82}, {name: x, port: 83}]\n"),
			errors: []string{
				"0 spec.ports[0].name: Required value",
				`0 spec.ports[1].name: Invalid value: "Web_1"`,
				`0 spec.ports[3].name: Duplicate value: "x"`,
			},
		},
		{
			name:   "duplicate port and protocol",
			yaml:   service("  ports: [{name: a, port: 80}, {name: b, port: 80}, {name: c, port: 80, protocol: UDP}]\n"),
			errors: []string{"0 spec.ports[1]: Duplicate value"},
		},
		{
			name:   "target port",
			yaml:   service("  ports: [{name: a, port: 80, targetPort: 70000}, {name: b, port: 81, targetPort: not_a_name}]\n"),
			errors: []string{"0 spec.ports[0].targetPort: Invalid value: 70000", `0 spec.ports[1].targetPort: Invalid value: "not_a_name"`},
		},
		{
			name:   "node port only for node port services",
			yaml:   service("  ports: [{port: 80, nodePort: 30080}]\n"),
			errors: []string{"0 spec.ports[0].nodePort: Forbidden: may only be set for type NodePort or LoadBalancer"},
		},
		{
			name:   "cluster IP",
			yaml:   service("  clusterIP: 10.0.0.300\n  ports: [{port: 80}]\n"),
			errors: []string{`0 spec.clusterIP: Invalid value: "10.0.0.300"`},
		},
		{
			name:   "external name required",
			yaml:   service("  type: ExternalName\n"),
			errors: []string{"0 spec.externalName: Required value"},
		},
		{
			name:   "selector labels",
			yaml:   service("  selector: {app: \"not valid!\"}\n  ports: [{port: 80}]\n"),
			errors: []string{`0 spec.selector: Invalid value: "not valid!"`},
		},
		{
			name:   "external traffic policy only for external services",
			yaml:   service("  externalTrafficPolicy: Local\n  ports: [{port: 80}]\n"),
			errors: []string{`0 spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services`},
		},
	}
}

func TestDecodeService(t *testing.T) { run(t, serviceCases()) }

func endpointSliceCases() []testCase {
	slice := func(body string) string {
		return "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1, labels: {kubernetes.io/service-name: web}}\n" + body
	}
	return []testCase{
		{
			name: "defaults and loopback addresses",
			yaml: slice(`addressType: IPv4
endpoints:
- addresses: [127.0.0.1]
  conditions: {ready: true}
ports: [{port: 8080}]
`),
			objects: []string{"endpointslices default/web-1@0"},
			check: func(t *testing.T, objs []Object) {
				s := objs[0].Obj.(*discoveryv1.EndpointSlice)
				checkEqual(t, "ports[0].protocol", *s.Ports[0].Protocol, corev1.ProtocolTCP)
				checkEqual(t, "ports[0].name", *s.Ports[0].Name, "")
				checkEqual(t, "kind", s.Kind, "EndpointSlice")
			},
		},
		{
			name:    "IPv6 and FQDN",
			yaml:    slice("addressType: IPv6\nendpoints: [{addresses: ['::1', 'fd00::1']}]\n---\n" + slice("addressType: FQDN\nendpoints: [{addresses: [backend.example.com]}]\n")),
			objects: []string{"endpointslices default/web-1@0"},
			errors:  []string{`1 metadata.name: Duplicate value`},
		},
		{name: "address type required", yaml: slice("endpoints: []\n"), errors: []string{"0 addressType: Required value"}},
		{name: "address type enum", yaml: slice("addressType: IP\n"), errors: []string{`0 addressType: Unsupported value: "IP"`}},
		{
			name:   "addresses required",
			yaml:   slice("addressType: IPv4\nendpoints: [{addresses: []}, {conditions: {ready: false}}]\n"),
			errors: []string{"0 endpoints[0].addresses: Required value", "0 endpoints[1].addresses: Required value"},
		},
		{
			name: "addresses match the type",
			yaml: slice("addressType: IPv4\nendpoints: [{addresses: ['::1', 10.0.0.1, nonsense]}]\n---\n" +
				"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: fqdn}\naddressType: FQDN\nendpoints: [{addresses: [not_a_name]}]\n"),
			errors: []string{
				`0 endpoints[0].addresses[0]: Invalid value: "::1": must be an IPv4 address`,
				`0 endpoints[0].addresses[2]: Invalid value: "nonsense"`,
				`1 endpoints[0].addresses[0]: Invalid value: "not_a_name"`,
			},
		},
		{
			name: "ports",
			yaml: slice("addressType: IPv4\nports: [{name: a, port: 0}, {name: a, port: 80}, {name: B, protocol: HTTP}]\n"),
			errors: []string{
				"0 ports[0].port: Invalid value: 0",
				`0 ports[1].name: Duplicate value: "a"`,
				`0 ports[2].name: Invalid value: "B"`,
				`0 ports[2].protocol: Unsupported value: "HTTP"`,
			},
		},
		{
			name:   "endpoint hostname",
			yaml:   slice("addressType: IPv4\nendpoints: [{addresses: [10.0.0.1], hostname: a.b}]\n"),
			errors: []string{`0 endpoints[0].hostname: Invalid value: "a.b"`},
		},
	}
}

func TestDecodeEndpointSlice(t *testing.T) { run(t, endpointSliceCases()) }

func podAndNamespaceCases() []testCase {
	return []testCase{
		{
			name: "pod without containers, podIP fills podIPs",
			yaml: `apiVersion: v1
kind: Pod
metadata: {name: cart-1, namespace: shop, labels: {meshless/meshlet: cart, version: v1}}
spec: {nodeName: node-1}
status: {podIP: 10.1.0.5}
`,
			objects: []string{"pods shop/cart-1@0"},
			check: func(t *testing.T, objs []Object) {
				p := objs[0].Obj.(*corev1.Pod)
				checkEqual(t, "podIPs", len(p.Status.PodIPs), 1)
				checkEqual(t, "podIPs[0]", p.Status.PodIPs[0].IP, "10.1.0.5")
				checkEqual(t, "meshlet label", p.Labels[meshlessv1.LabelMeshlet], "cart")
			},
		},
		{
			name:    "podIPs fills podIP",
			yaml:    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIPs: [{ip: 'fd00::5'}, {ip: 10.1.0.5}]}\n",
			objects: []string{"pods default/p@0"},
			check: func(t *testing.T, objs []Object) {
				checkEqual(t, "podIP", objs[0].Obj.(*corev1.Pod).Status.PodIP, "fd00::5")
			},
		},
		{
			name: "pod addresses",
			yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIP: 10.1.0.500, podIPs: [{ip: 10.1.0.6}]}\n",
			errors: []string{
				`0 status.podIP: Invalid value: "10.1.0.500"`,
				`0 status.podIPs[0].ip: Invalid value: "10.1.0.6": must be the same as podIP`,
			},
		},
		{
			name:    "namespace gets its name label",
			yaml:    "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n",
			objects: []string{"namespaces shop@0"},
			check: func(t *testing.T, objs []Object) {
				n := objs[0].Obj.(*corev1.Namespace)
				checkEqual(t, "name label", n.Labels["kubernetes.io/metadata.name"], "shop")
				checkEqual(t, "team label", n.Labels["team"], "a")
			},
		},
		{
			name:   "namespace name is a DNS label",
			yaml:   "apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n",
			errors: []string{`0 metadata.name: Invalid value: "a.b"`},
		},
	}
}

func TestDecodePodAndNamespace(t *testing.T) { run(t, podAndNamespaceCases()) }

func meshletCases() []testCase {
	meshlet := func(apiVersion, rest string) string {
		return "apiVersion: " + apiVersion + "\nkind: Meshlet\n" + rest
	}
	const spec = `metadata: {name: cart, namespace: shop}
spec:
  client: [{namespace: shop, meshlet: stock, service: grpc}]
  server:
    selector: {app: cart}
    services: [{name: http, maxConn: 100, idleTimeout: 1m}]
    canary: [{version: v1, weight: 99}, {version: v2, weight: 1}]
`
	checkMeshlet := func(t *testing.T, objs []Object) {
		m := objs[0].Obj.(*meshlessv1.Meshlet)
		checkEqual(t, "apiVersion", m.APIVersion, "meshless.caddymesh.io/v1")
		checkEqual(t, "kind", m.Kind, "Meshlet")
		checkEqual(t, "client", m.Spec.Client[0].ID(), "grpc.stock.shop")
		checkEqual(t, "maxConn", *m.Spec.Server.Services[0].MaxConn, int32(100))
		checkEqual(t, "idleTimeout", m.Spec.Server.Services[0].IdleTimeout.Duration.String(), "1m0s")
		checkEqual(t, "canary", m.Spec.Server.Canary[1].Weight, int32(1))
	}
	return []testCase{
		{name: "canonical group", yaml: meshlet("meshless.caddymesh.io/v1", spec), objects: []string{"meshlets shop/cart@0"}, check: checkMeshlet},
		{name: "compatibility group", yaml: meshlet("ext.burningxflame.github.com/v1", spec), objects: []string{"meshlets shop/cart@0"}, check: checkMeshlet},
		{name: "empty spec", yaml: meshlet("meshless.caddymesh.io/v1", "metadata: {name: idle}\n"), objects: []string{"meshlets default/idle@0"}},
		{
			name:   "name is a DNS label",
			yaml:   meshlet("meshless.caddymesh.io/v1", "metadata: {name: cart.v2}\n"),
			errors: []string{`0 metadata.name: Invalid value: "cart.v2"`},
		},
		{
			name: "spec rules",
			yaml: meshlet("ext.burningxflame.github.com/v1", `metadata: {name: cart}
spec:
  client: [{namespace: shop, meshlet: Stock, service: grpc}]
  server:
    selector: {}
    services: [{name: http, maxConn: 0}]
    canary: [{version: v1, weight: 101}]
`),
			errors: []string{
				`0 spec.client[0].meshlet: Invalid value: "Stock"`,
				"0 spec.server.selector: Required value",
				"0 spec.server.services[0].maxConn: Invalid value: 0",
				"0 spec.server.canary[0].weight: Invalid value: 101",
			},
		},
		{
			name:   "idle timeout must parse",
			yaml:   meshlet("meshless.caddymesh.io/v1", "metadata: {name: cart}\nspec: {server: {selector: {a: b}, services: [{name: x, idleTimeout: 1 minute}]}}\n"),
			errors: []string{"0 : Invalid value: time: unknown unit"},
		},
	}
}

func TestDecodeMeshlet(t *testing.T) { run(t, meshletCases()) }

func gatewayCases() []testCase {
	gateway := func(spec string) string {
		return "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n  gatewayClassName: caddy\n" + spec
	}
	return []testCase{
		{
			name:    "gateway class",
			yaml:    "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: GatewayClass\nmetadata: {name: caddy}\nspec: {controllerName: caddymesh.io/gateway}\n",
			objects: []string{"gatewayclasses caddy@0"},
			check: func(t *testing.T, objs []Object) {
				checkEqual(t, "apiVersion", objs[0].Obj.(*gatewayv1.GatewayClass).APIVersion, "gateway.networking.k8s.io/v1")
			},
		},
		{
			name: "gateway class rules",
			yaml: "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: a, namespace: x}\nspec: {}\n---\n" +
				"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: b}\nspec: {controllerName: no-slash}\n---\n" +
				"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: c}\n",
			errors: []string{
				"0 metadata.namespace: Forbidden",
				"0 spec.controllerName: Required value",
				`1 spec.controllerName: Invalid value: "no-slash"`,
				"2 spec: Required value",
				"2 spec.controllerName: Required value",
			},
		},
		{
			name: "gateway defaults",
			yaml: gateway(`  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: "*.example.com"
    tls: {certificateRefs: [{name: cert}]}
    allowedRoutes: {kinds: [{kind: HTTPRoute}]}
`),
			objects: []string{"gateways default/gw@0"},
			check: func(t *testing.T, objs []Object) {
				gw := objs[0].Obj.(*gatewayv1.Gateway)
				http, https := gw.Spec.Listeners[0], gw.Spec.Listeners[1]
				checkEqual(t, "http from", *http.AllowedRoutes.Namespaces.From, gatewayv1.NamespacesFromSame)
				checkEqual(t, "https tls mode", *https.TLS.Mode, gatewayv1.TLSModeTerminate)
				checkEqual(t, "cert kind", *https.TLS.CertificateRefs[0].Kind, gatewayv1.Kind("Secret"))
				checkEqual(t, "cert group", *https.TLS.CertificateRefs[0].Group, gatewayv1.Group(""))
				checkEqual(t, "route kind group", *https.AllowedRoutes.Kinds[0].Group, gatewayv1.Group("gateway.networking.k8s.io"))
			},
		},
		{
			name:   "listeners required",
			yaml:   gateway("  listeners: []\n"),
			errors: []string{"0 spec.listeners: Required value"},
		},
		{
			name: "listener rules",
			yaml: gateway(`  listeners:
  - {name: a, port: 0, protocol: HTTP}
  - {name: a, port: 80}
  - {name: b, port: 81, protocol: HTTP, tls: {mode: Terminate, certificateRefs: [{name: c}]}}
  - {name: c, port: 443, protocol: HTTPS, tls: {mode: Passthrough}}
  - {name: d, port: 444, protocol: TLS}
  - {name: e, port: 9000, protocol: TCP, hostname: a.example.com}
  - {name: f, port: 82, protocol: HTTP, allowedRoutes: {namespaces: {from: Everywhere}}}
`),
			errors: []string{
				"0 spec.listeners[0].port: Invalid value: 0",
				`0 spec.listeners[1].name: Duplicate value: "a"`,
				"0 spec.listeners[1].protocol: Required value",
				"0 spec.listeners[2].tls: Forbidden: tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
				`0 spec.listeners[3].tls.mode: Invalid value: "Passthrough": tls mode must be Terminate for protocol HTTPS`,
				"0 spec.listeners[4].tls.mode: Required value: tls mode must be set for protocol TLS",
				"0 spec.listeners[5].hostname: Forbidden",
				`0 spec.listeners[6].allowedRoutes.namespaces.from: Unsupported value: "Everywhere"`,
			},
		},
		{
			name: "terminate needs certificates",
			yaml: gateway("  listeners: [{name: a, port: 443, protocol: HTTPS, tls: {}}]\n"),
			errors: []string{
				"0 spec.listeners[0].tls.certificateRefs: Required value: certificateRefs or options must be specified when mode is Terminate",
			},
		},
		{
			name:   "listener endpoints are unique",
			yaml:   gateway("  listeners: [{name: a, port: 80, protocol: HTTP}, {name: b, port: 80, protocol: HTTP}]\n"),
			errors: []string{"0 spec.listeners[1]: Duplicate value"},
		},
		{
			name:   "spec required",
			yaml:   "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\n",
			errors: []string{"0 spec: Required value", "0 spec.gatewayClassName: Required value", "0 spec.listeners: Required value"},
		},
	}
}

func TestDecodeGatewayClassAndGateway(t *testing.T) { run(t, gatewayCases()) }

func httpRouteCases() []testCase {
	route := func(apiVersion, spec string) string {
		return "apiVersion: gateway.networking.k8s.io/" + apiVersion + "\nkind: HTTPRoute\nmetadata: {name: web}\nspec:\n" + spec
	}
	return []testCase{
		{
			name:    "no rules match everything",
			yaml:    route("v1", "  parentRefs: [{name: gw}]\n"),
			objects: []string{"httproutes default/web@0"},
			check: func(t *testing.T, objs []Object) {
				r := objs[0].Obj.(*gatewayv1.HTTPRoute)
				checkEqual(t, "rules", len(r.Spec.Rules), 1)
				checkEqual(t, "matches", len(r.Spec.Rules[0].Matches), 1)
				m := r.Spec.Rules[0].Matches[0]
				checkEqual(t, "path type", *m.Path.Type, gatewayv1.PathMatchPathPrefix)
				checkEqual(t, "path value", *m.Path.Value, "/")
				ref := r.Spec.ParentRefs[0]
				checkEqual(t, "parent group", *ref.Group, gatewayv1.Group("gateway.networking.k8s.io"))
				checkEqual(t, "parent kind", *ref.Kind, gatewayv1.Kind("Gateway"))
			},
		},
		{
			name: "rule and match defaults",
			yaml: route("v1beta1", `  parentRefs: [{name: gw, namespace: infra, sectionName: http}]
  hostnames: [shop.example.com, "*.shop.example.com"]
  rules:
  - backendRefs: [{name: web, port: 80}]
  - matches:
    - path: {value: /api}
      headers: [{name: X-Version, value: "2"}]
      queryParams: [{name: debug, value: "1"}]
    - headers: [{name: X-Only, value: a}]
    - path: {type: Exact}
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https}
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 80}, fraction: {numerator: 1}}
    backendRefs: [{name: api, port: 8080, weight: 0}]
    timeouts: {request: 10s, backendRequest: 2s}
`),
			objects: []string{"httproutes default/web@0"},
			check: func(t *testing.T, objs []Object) {
				r := objs[0].Obj.(*gatewayv1.HTTPRoute)
				checkEqual(t, "apiVersion", r.APIVersion, "gateway.networking.k8s.io/v1")
				rule0 := r.Spec.Rules[0]
				checkEqual(t, "rule 0 match", *rule0.Matches[0].Path.Value, "/")
				b := rule0.BackendRefs[0]
				checkEqual(t, "backend group", *b.Group, gatewayv1.Group(""))
				checkEqual(t, "backend kind", *b.Kind, gatewayv1.Kind("Service"))
				checkEqual(t, "backend weight", *b.Weight, int32(1))
				m := r.Spec.Rules[1].Matches
				checkEqual(t, "match 0 type", *m[0].Path.Type, gatewayv1.PathMatchPathPrefix)
				checkEqual(t, "header type", *m[0].Headers[0].Type, gatewayv1.HeaderMatchExact)
				checkEqual(t, "query type", *m[0].QueryParams[0].Type, gatewayv1.QueryParamMatchExact)
				checkEqual(t, "match 1 path", *m[1].Path.Value, "/")
				checkEqual(t, "match 2 value", *m[2].Path.Value, "/")
				checkEqual(t, "redirect code", *r.Spec.Rules[1].Filters[0].RequestRedirect.StatusCode, 302)
				mirror := r.Spec.Rules[2].Filters[1].RequestMirror
				checkEqual(t, "mirror kind", *mirror.BackendRef.Kind, gatewayv1.Kind("Service"))
				checkEqual(t, "mirror denominator", *mirror.Fraction.Denominator, int32(100))
				checkEqual(t, "explicit weight", *r.Spec.Rules[2].BackendRefs[0].Weight, int32(0))
			},
		},
		{
			name:   "explicitly empty rules",
			yaml:   route("v1", "  rules: []\n"),
			errors: []string{"0 spec.rules: Required value"},
		},
		{
			name: "path values",
			yaml: route("v1", `  rules:
  - matches:
    - path: {value: api}
    - path: {value: /a//b}
    - path: {type: Exact, value: /a/..}
    - path: {type: RegularExpression, value: "^/[a-z]+$"}
    - path: {type: Glob, value: /}
`),
			errors: []string{
				`0 spec.rules[0].matches[0].path.value: Invalid value: "api": value must be an absolute path`,
				`0 spec.rules[0].matches[1].path.value: Invalid value: "/a//b": must not contain '//'`,
				`0 spec.rules[0].matches[2].path.value: Invalid value: "/a/..": must not end with '/..'`,
				`0 spec.rules[0].matches[4].path.type: Unsupported value: "Glob"`,
			},
		},
		{
			name: "headers and methods",
			yaml: route("v1", `  rules:
  - matches:
    - headers: [{name: "bad header", value: x}, {name: a, value: ""}, {name: a, value: z, type: Prefix}]
      method: FETCH
`),
			errors: []string{
				`0 spec.rules[0].matches[0].headers[0].name: Invalid value: "bad header"`,
				"0 spec.rules[0].matches[0].headers[1].value: Required value",
				`0 spec.rules[0].matches[0].headers[2].type: Unsupported value: "Prefix"`,
				`0 spec.rules[0].matches[0].headers[2].name: Duplicate value: "a"`,
				`0 spec.rules[0].matches[0].method: Unsupported value: "FETCH"`,
			},
		},
		{
			name: "backend refs",
			yaml: route("v1", `  rules:
  - backendRefs:
    - {name: web}
    - {name: web, port: 70000}
    - {name: web, port: 80, weight: 1000001}
    - {name: bucket, group: storage.example.com, kind: Bucket}
    - {port: 80}
`),
			errors: []string{
				"0 spec.rules[0].backendRefs[0].port: Required value: must have port for Service reference",
				"0 spec.rules[0].backendRefs[1].port: Invalid value: 70000",
				"0 spec.rules[0].backendRefs[2].weight: Invalid value: 1000001",
				"0 spec.rules[0].backendRefs[4].name: Required value",
			},
		},
		{
			name: "filters",
			yaml: route("v1", `  rules:
  - matches: [{path: {value: /a}}, {path: {value: /b}}]
    filters:
    - {type: RequestHeaderModifier}
    - {type: ResponseHeaderModifier, requestHeaderModifier: {set: [{name: a, value: b}]}}
    - {type: Compress}
    - type: RequestRedirect
      requestRedirect: {statusCode: 304, path: {type: ReplacePrefixMatch, replacePrefixMatch: /x}}
    backendRefs: [{name: web, port: 80}]
`),
			errors: []string{
				"0 spec.rules[0].filters[0].requestHeaderModifier: Required value",
				"0 spec.rules[0].filters[1].requestHeaderModifier: Forbidden",
				"0 spec.rules[0].filters[1].responseHeaderModifier: Required value",
				`0 spec.rules[0].filters[2].type: Unsupported value: "Compress"`,
				"0 spec.rules[0].filters[3].requestRedirect.statusCode: Unsupported value: 304",
				"0 spec.rules[0].filters[3]: Invalid value: \"RequestRedirect\": when using RequestRedirect filter with path.replacePrefixMatch",
				"0 spec.rules[0].filters: Forbidden: RequestRedirect filter must not be used together with backendRefs",
			},
		},
		{
			name: "parent refs to one parent need distinct sections",
			yaml: route("v1", "  parentRefs: [{name: gw}, {name: gw, sectionName: a}, {name: gw, sectionName: a}, {name: other}]\n"),
			errors: []string{
				"0 spec.parentRefs[0].sectionName: Required value",
				`0 spec.parentRefs[2].sectionName: Duplicate value: "a"`,
			},
		},
		{
			name: "hostnames and timeouts",
			yaml: route("v1", "  hostnames: [Shop.example.com, 'a.*.com']\n  rules: [{timeouts: {request: 1s, backendRequest: 2s}}, {timeouts: {request: 1 second}}]\n"),
			errors: []string{
				`0 spec.hostnames[0]: Invalid value: "Shop.example.com"`,
				`0 spec.hostnames[1]: Invalid value: "a.*.com"`,
				`0 spec.rules[0].timeouts.backendRequest: Invalid value: "2s": backendRequest timeout cannot be longer than request timeout`,
				`0 spec.rules[1].timeouts.request: Invalid value: "1 second"`,
			},
		},
	}
}

func TestDecodeHTTPRoute(t *testing.T) { run(t, httpRouteCases()) }

func tlsRouteAndGrantCases() []testCase {
	tlsRoute := func(apiVersion, spec string) string {
		return "apiVersion: gateway.networking.k8s.io/" + apiVersion + "\nkind: TLSRoute\nmetadata: {name: db}\nspec:\n" + spec
	}
	grant := func(apiVersion, spec string) string {
		return "apiVersion: gateway.networking.k8s.io/" + apiVersion + "\nkind: ReferenceGrant\nmetadata: {name: g, namespace: backend}\nspec:\n" + spec
	}
	const oneRule = "  rules: [{backendRefs: [{name: db, port: 5432}]}]\n"
	return []testCase{
		{
			name:    "tls route",
			yaml:    tlsRoute("v1", "  parentRefs: [{name: gw}]\n  hostnames: [db.example.com]\n"+oneRule),
			objects: []string{"tlsroutes default/db@0"},
			check: func(t *testing.T, objs []Object) {
				r := objs[0].Obj.(*gatewayv1.TLSRoute)
				checkEqual(t, "weight", *r.Spec.Rules[0].BackendRefs[0].Weight, int32(1))
				checkEqual(t, "parent kind", *r.Spec.ParentRefs[0].Kind, gatewayv1.Kind("Gateway"))
			},
		},
		{
			name:   "v1 needs hostnames and one rule",
			yaml:   tlsRoute("v1", "  rules: [{backendRefs: [{name: a, port: 1}]}, {backendRefs: [{name: b, port: 1}]}]\n"),
			errors: []string{"0 spec.hostnames: Required value", "0 spec.rules: Too many: 2: must have at most 1 item"},
		},
		{
			name:    "v1alpha2 does not",
			yaml:    tlsRoute("v1alpha2", "  rules: [{backendRefs: [{name: a, port: 1}]}, {backendRefs: [{name: b, port: 1}]}]\n"),
			objects: []string{"tlsroutes default/db@0"},
			check: func(t *testing.T, objs []Object) {
				checkEqual(t, "apiVersion", objs[0].Obj.(*gatewayv1.TLSRoute).APIVersion, "gateway.networking.k8s.io/v1")
			},
		},
		{
			name: "v1alpha3 follows v1",
			yaml: tlsRoute("v1alpha3", "  hostnames: [10.0.0.1]\n  rules: [{backendRefs: []}]\n"),
			errors: []string{
				`0 spec.hostnames[0]: Invalid value: "10.0.0.1": hostnames cannot contain an IP`,
				"0 spec.rules[0].backendRefs: Required value",
			},
		},
		{
			name:    "reference grant",
			yaml:    grant("v1beta1", "  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]\n  to: [{group: \"\", kind: Service}]\n"),
			objects: []string{"referencegrants backend/g@0"},
		},
		{
			name: "reference grant rules",
			yaml: grant("v1", "  from: [{kind: HTTPRoute}]\n  to: []\n"),
			errors: []string{
				"0 spec.from[0].group: Required value",
				"0 spec.from[0].namespace: Required value",
				"0 spec.to: Required value",
			},
		},
	}
}

func TestDecodeTLSRouteAndReferenceGrant(t *testing.T) { run(t, tlsRouteAndGrantCases()) }

// allCases are every table above, for the fuzz seed corpus.
func allCases() [][]testCase {
	return [][]testCase{documentCases(), metadataCases(), serviceCases(), endpointSliceCases(),
		podAndNamespaceCases(), meshletCases(), gatewayCases(), httpRouteCases(), tlsRouteAndGrantCases(),
		secretCases(), httpFilterCases()}
}

func TestErrorFormat(t *testing.T) {
	cause := errors.New("boom")
	e := &Error{File: "manifests/a.yaml", Doc: 2, Object: "Service default/web", Field: "spec.ports[0].port", Msg: "must be between 1 and 65535", Err: cause}
	checkEqual(t, "Error()", e.Error(), "manifests/a.yaml: document 2 (Service default/web): spec.ports[0].port: must be between 1 and 65535")
	if !errors.Is(e, cause) {
		t.Error("errors.Is does not find the cause")
	}
	e = &Error{File: "a.yaml", Doc: 0, Msg: "invalid YAML"}
	checkEqual(t, "Error()", e.Error(), "a.yaml: document 0: invalid YAML")

	_, errs := Decode("a.yaml", []byte("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 0}]}\n"))
	if len(errs) != 1 {
		t.Fatalf("got %d errors", len(errs))
	}
	checkEqual(t, "Decode error", errs[0].Error(), "a.yaml: document 0 (Service default/web): spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive")
	checkEqual(t, "Kind", errs[0].Kind, model.Services)
	checkEqual(t, "Object", errs[0].Object, "Service default/web")
	var fe *field.Error
	if !errors.As(errs[0], &fe) || fe.Type != field.ErrorTypeInvalid {
		t.Errorf("errors.As(*field.Error) = %v", fe)
	}
}

// TestErrorKind checks that errors name the collection they concern whenever the
// document's kind was recognised, and only then.
func TestErrorKind(t *testing.T) {
	_, errs := Decode("a.yaml", []byte(`apiVersion: gateway.networking.k8s.io/v1beta1
kind: HTTPRoute
metadata: {name: r}
spec: {rules: []}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {nodeName: [a]}
---
apiVersion: v1
kind: ConfigMap
---
apiVersion: v1
kind: Secret
metadata: {name: s}
type: Opaque
---
{
`))
	want := []struct{ kind, object string }{
		{model.HTTPRoutes, "HTTPRoute default/r"},
		{model.Pods, "Pod default/p"},
		{"", ""},
		{model.TLSSecrets, "Secret default/s"},
		{"", ""},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(errs), len(want), formatErrors(errs))
	}
	for i, w := range want {
		checkEqual(t, fmt.Sprintf("errs[%d].Kind", i), errs[i].Kind, w.kind)
		checkEqual(t, fmt.Sprintf("errs[%d].Object", i), errs[i].Object, w.object)
	}
}

func TestObjectsAreModelObjects(t *testing.T) {
	objs, errs := Decode("a.yaml", []byte(allKinds))
	if len(errs) > 0 {
		t.Fatalf("errors:\n%s", formatErrors(errs))
	}
	want := []string{model.Namespaces, model.Services, model.EndpointSlices, model.Pods, model.Meshlets,
		model.GatewayClasses, model.Gateways, model.HTTPRoutes, model.TLSRoutes, model.ReferenceGrants,
		model.TLSSecrets, model.HTTPFilters}
	if len(objs) != len(want) {
		t.Fatalf("got %d objects, want %d", len(objs), len(want))
	}
	for i, o := range objs {
		checkEqual(t, "kind", o.Kind, want[i])
		checkEqual(t, "key", o.Key, model.Key(o.Obj.GetNamespace(), o.Obj.GetName()))
		checkEqual(t, "doc", o.Doc, i)
		if gvk := o.Obj.GetObjectKind().GroupVersionKind(); gvk.Kind == "" || gvk.Version == "" {
			t.Errorf("object %d has no type: %v", i, gvk)
		}
	}
}

// allKinds holds one valid object of every kind, in model order.
const allKinds = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.0.0.5], conditions: {ready: true}}]
ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web, meshless/meshlet: web}}
status: {podIP: 10.0.0.5}
---
apiVersion: meshless.caddymesh.io/v1
kind: Meshlet
metadata: {name: web, namespace: shop}
spec: {server: {selector: {app: web}, services: [{name: http}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: caddy}
spec: {controllerName: caddymesh.io/gateway}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec: {gatewayClassName: caddy, listeners: [{name: http, port: 80, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{name: web, port: 80}]}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: db, namespace: shop}
spec: {parentRefs: [{name: gw}], hostnames: [db.shop.example], rules: [{backendRefs: [{name: db, port: 5432}]}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: from-shop, namespace: shop}
spec: {from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}], to: [{group: "", kind: Service}]}
---
apiVersion: v1
kind: Secret
metadata: {name: gw-cert, namespace: shop}
type: kubernetes.io/tls
stringData: {tls.crt: CERT, tls.key: KEY}
---
apiVersion: gateway.caddymesh.io/v1alpha1
kind: HTTPFilter
metadata: {name: add-header, namespace: shop}
spec: {handlers: [{handler: headers, response: {set: {X-Mesh: [caddymesh]}}}]}
`
