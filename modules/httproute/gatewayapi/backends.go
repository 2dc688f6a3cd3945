package gatewayapi

import (
	"fmt"
	"net"
	"reflect"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// appProtocolH2C is the Service port appProtocol (KEP-3726) for HTTP/2 over cleartext.
const appProtocolH2C = "kubernetes.io/h2c"

// clusterName names a Service port's cluster. Every rule and route that sends to the same
// port shares the cluster, so the runtime keeps one upstream set for it.
func clusterName(namespace, name string, port int32) string {
	return "service/" + namespace + "/" + name + ":" + strconv.Itoa(int(port))
}

// resolveBackend resolves a backendRef (or a mirror's) made from a route in namespace to
// a cluster. Only core Services are supported; a reference into another namespace needs a
// ReferenceGrant there; the Service must exist and have the port. Otherwise the returned
// problem says why, with the reason the route's ResolvedRefs condition takes.
func (c *compiler) resolveBackend(namespace string, ref *gatewayv1.BackendObjectReference) (string, *refProblem) {
	group, kind := "", "Service"
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	if group != "" || kind != "Service" {
		return "", &refProblem{reason: gatewayv1.RouteReasonInvalidKind,
			message: fmt.Sprintf("%s %q is not a supported backend; only core Services are", groupKind(group, kind), ref.Name)}
	}
	ns := namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	name := string(ref.Name)
	svcKey := key(ns, name)
	c.depends(namespace, ns, &c.cur.services, svcKey)
	from := objectRef{group: gatewayv1.GroupName, kind: "HTTPRoute", namespace: namespace}
	if !c.idx.grants.permits(from, objectRef{kind: "Service", namespace: ns, name: name}) {
		return "", &refProblem{reason: gatewayv1.RouteReasonRefNotPermitted,
			message: fmt.Sprintf("Service %s/%s is in another namespace and no ReferenceGrant there lets HTTPRoutes in %s refer to it",
				ns, name, namespace)}
	}
	svc := c.idx.services[svcKey]
	if svc == nil {
		return "", &refProblem{reason: gatewayv1.RouteReasonBackendNotFound,
			message: fmt.Sprintf("Service %s/%s does not exist", ns, name)}
	}
	if ref.Port == nil {
		return "", &refProblem{reason: gatewayv1.RouteReasonBackendNotFound,
			message: fmt.Sprintf("backendRef to Service %s/%s has no port", ns, name)}
	}
	port := *ref.Port
	cn := clusterName(ns, name, port)
	if _, ok := c.clusters[cn]; ok {
		return cn, nil
	}
	cl := clusterFor(svc, port)
	if cl == nil {
		return "", &refProblem{reason: gatewayv1.RouteReasonBackendNotFound,
			message: fmt.Sprintf("Service %s/%s has no port %d", ns, name, port)}
	}
	if old := c.retired[cn]; old != nil && reflect.DeepEqual(old.cluster, cl) {
		c.clusters[cn] = old // its Service changed, but not this port's cluster
		return cn, nil
	}
	c.clusters[cn] = &clusterSlot{name: cn, cluster: cl}
	return cn, nil
}

// depends records that the route being compiled looked up the object k in namespace to
// (into deps), from its own namespace from.
func (c *compiler) depends(from, to string, deps *[]string, k string) {
	*deps = append(*deps, k)
	if from != to {
		c.cur.crossNamespace = true
	}
}

// clusterFor is the cluster of a Service's port, or nil when the Service has no such
// port. An ExternalName Service has no endpoints to watch: its cluster is the external
// name at the port asked for, dialled as a static address.
func clusterFor(svc *corev1.Service, port int32) *table.Cluster {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return &table.Cluster{
			Kind:      table.ClusterStatic,
			Addresses: []string{net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(port)))},
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.Port != port {
			continue
		}
		return &table.Cluster{
			Kind: table.ClusterService,
			Service: &table.ServicePort{
				Namespace: svc.Namespace,
				Name:      svc.Name,
				Port:      port,
				PortName:  p.Name,
			},
			H2C: p.AppProtocol != nil && *p.AppProtocol == appProtocolH2C,
		}
	}
	return nil
}

// convertBackends resolves a rule's backendRefs into a Forward's backends, adding the
// clusters they use. A backend that does not resolve stays in the list, marked Invalid,
// so that exactly its share of requests is answered 500. A backend filter of a type
// other than the header modifiers drops the rule.
func (c *compiler) convertBackends(r *compiledRoute, refs []gatewayv1.HTTPBackendRef, problems *[]refProblem) ([]*table.Backend, *ruleError) {
	backends := make([]*table.Backend, 0, len(refs))
	for k := range refs {
		ref := &refs[k]
		b := &table.Backend{Weight: 1}
		if ref.Weight != nil {
			if *ref.Weight < 0 {
				return nil, unsupported("backendRefs[%d]: weight %d is negative", k, *ref.Weight)
			}
			b.Weight = uint32(*ref.Weight)
		}
		if err := backendFilters(b, ref.Filters); err != nil {
			return nil, unsupported("backendRefs[%d].%s", k, err)
		}
		name, problem := c.resolveBackend(r.route.Namespace, &ref.BackendObjectReference)
		if problem != nil {
			problem.message = fmt.Sprintf("backendRefs[%d]: %s", k, problem.message)
			*problems = append(*problems, *problem)
			b.Invalid = string(problem.reason) + ": " + problem.message
		} else {
			b.Cluster = name
			c.use(r, name)
		}
		backends = append(backends, b)
	}
	return backends, nil
}

// backendFilters applies a backendRef's own filters, which run only when that backend
// is picked. Only the header modifiers are supported there, each at most once.
func backendFilters(b *table.Backend, filters []gatewayv1.HTTPRouteFilter) error {
	for m := range filters {
		f := &filters[m]
		switch {
		case f.Type == gatewayv1.HTTPRouteFilterRequestHeaderModifier && f.RequestHeaderModifier != nil && b.RequestHeaders == nil:
			b.RequestHeaders = headerOps(f.RequestHeaderModifier)
		case f.Type == gatewayv1.HTTPRouteFilterResponseHeaderModifier && f.ResponseHeaderModifier != nil && b.ResponseHeaders == nil:
			b.ResponseHeaders = headerOps(f.ResponseHeaderModifier)
		default:
			return fmt.Errorf("filters[%d]: filter type %s is not supported on a backendRef (only a RequestHeaderModifier and a ResponseHeaderModifier are)", m, f.Type)
		}
	}
	return nil
}

// convertMirrors resolves a rule's RequestMirror filters. A mirror whose backend does not
// resolve is left out, as the spec says, and reported.
func (c *compiler) convertMirrors(r *compiledRoute, mirrors []*gatewayv1.HTTPRequestMirrorFilter, problems *[]refProblem) []*table.Mirror {
	var out []*table.Mirror
	for i, m := range mirrors {
		name, problem := c.resolveBackend(r.route.Namespace, &m.BackendRef)
		if problem != nil {
			problem.message = fmt.Sprintf("requestMirror %d: %s", i, problem.message)
			*problems = append(*problems, *problem)
			continue
		}
		fraction, _ := mirrorFraction(m) // checked by convertFilters
		c.use(r, name)
		out = append(out, &table.Mirror{Cluster: name, Fraction: fraction})
	}
	return out
}
