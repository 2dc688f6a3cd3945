// Package gatewayapi translates Gateway API objects (GatewayClasses, Gateways, HTTPRoutes,
// and what they refer to) into compiled route tables, one per Gateway port, and the
// statuses a Gateway controller reports. It is a pure function of its input: no Caddy,
// no clients, no clock other than the one passed in, so every rule of the spec is tested
// as a function with golden files.
package gatewayapi

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
)

// ControllerName is the GatewayClass controllerName caddymesh serves by default.
const ControllerName gatewayv1.GatewayController = "caddymesh.io/gateway"

// Input is everything a translation reads. Slices are read only and may be in any order;
// the result does not depend on their order.
type Input struct {
	// ControllerName selects the GatewayClasses this controller serves (default
	// ControllerName).
	ControllerName gatewayv1.GatewayController
	// ClassNames, if not empty, further limits the served GatewayClasses to these names.
	ClassNames []string
	// Addresses returns the status addresses of a Gateway. Nil reports none, which leaves
	// the Gateway not Programmed (reason AddressNotAssigned).
	Addresses func(namespace, name string) []gatewayv1.GatewayStatusAddress
	// Now is the time stamped on conditions that change (lastTransitionTime).
	Now metav1.Time

	GatewayClasses  []*gatewayv1.GatewayClass
	Gateways        []*gatewayv1.Gateway
	HTTPRoutes      []*gatewayv1.HTTPRoute
	Services        []*corev1.Service
	ReferenceGrants []*gatewayv1.ReferenceGrant
	Namespaces      []*corev1.Namespace
	// Secrets are the kubernetes.io/tls Secrets listeners may refer to.
	Secrets []*corev1.Secret
	// HTTPFilters are the objects ExtensionRef filters may name.
	HTTPFilters []*gatewayv1alpha1.HTTPFilter

	// Cache, if set, carries work over from the previous translation that used it, so
	// that a change of one HTTPRoute among thousands costs little more than that route:
	// routes whose object (the same pointer, at the same resourceVersion and generation)
	// and whose referents are unchanged keep their compiled rules, and the result reuses
	// the previous table routes, clusters, virtual hosts and tables wherever they are
	// unchanged, so that a consumer can compare them by pointer. The result is the same as
	// without a Cache. It relies on the inputs' objects being immutable: a changed object
	// must be a new pointer, as collections hand them out. Translations that share a Cache
	// run one at a time.
	Cache *Cache
}

// Result is a translation's output. It is read only: its parts may be shared, between
// routes (statuses with the same conditions share the list) and, with a Cache, with
// other translations' results (tables, virtual hosts, routes and clusters that did not
// change).
type Result struct {
	// Gateways are the served Gateways that are accepted, sorted by namespace/name, with
	// the ports to open.
	Gateways []*Gateway

	// The statuses to report, by object key ("namespace/name", or "name" for classes).
	// Only objects this controller is responsible for appear: classes with its
	// controllerName, Gateways of those classes, and routes that name such a Gateway as a
	// parent (RouteStatuses holds this controller's entries only; an empty slice means
	// "remove ours").
	GatewayClassStatuses map[string]gatewayv1.GatewayClassStatus
	GatewayStatuses      map[string]gatewayv1.GatewayStatus
	RouteStatuses        map[string][]gatewayv1.RouteParentStatus
}

// Gateway is one accepted Gateway's data plane.
type Gateway struct {
	Namespace string
	Name      string
	// Ports are the ports to listen on, sorted by number. Listeners that share a port
	// (and protocol) share one Port.
	Ports []*Port
}

// Key is the Gateway's "namespace/name".
func (g *Gateway) Key() string { return g.Namespace + "/" + g.Name }

// Protocol is a listener protocol the data plane serves.
type Protocol string

// The served protocols.
const (
	HTTP  Protocol = "HTTP"
	HTTPS Protocol = "HTTPS"
)

// Port is one listening port of a Gateway.
type Port struct {
	Port     int32
	Protocol Protocol
	// Certificates are the HTTPS listeners' certificates, chosen by SNI: a certificate
	// serves the names of its Hostname ("" serves any name, and is the default when no
	// other matches). Sorted most specific hostname first.
	Certificates []*Certificate
	// Table is the routes served on this port; its virtual hosts' domains are the
	// intersections of the listeners' and the routes' hostnames.
	Table *table.Table
}

// Certificate is a TLS certificate from a kubernetes.io/tls Secret.
type Certificate struct {
	// Hostname is the listener's hostname ("", "example.com" or "*.example.com").
	Hostname string
	// Secret is the Secret's "namespace/name", for logs.
	Secret string
	// CertPEM and KeyPEM are the Secret's tls.crt and tls.key.
	CertPEM, KeyPEM []byte
}
