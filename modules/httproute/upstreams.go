package httproute

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

func init() {
	caddy.RegisterModule(new(Upstreams))
}

// Upstreams is the reverse_proxy upstream source "mesh": the ready endpoints of a Kubernetes
// Service's port (from its EndpointSlices) or of an Envoy cluster (from its
// ClusterLoadAssignment), read from a snapshot that follows the mesh's collections. The list
// is in a stable order (sorted by address), so hash-based selection policies stay stable
// while the endpoints do.
//
// Exactly one of service and cluster is set.
type Upstreams struct {
	// Source is the source whose collections are read: "merged" (every source) by
	// default, or a source's name.
	Source string `json:"source,omitempty"`
	// Service is the Service, as "namespace/name".
	Service string `json:"service,omitempty"`
	// Port is the Service's port number. Required with service unless the Service has
	// exactly one port.
	Port int32 `json:"port,omitempty"`
	// Cluster is an Envoy cluster name: the name of its ClusterLoadAssignment.
	Cluster string `json:"cluster,omitempty"`

	endpoints *Endpoints
	services  collection.Collection[*corev1.Service]
	ns, name  string
}

// CaddyModule returns the Caddy module information.
func (*Upstreams) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.upstreams.mesh",
		New: func() caddy.Module { return new(Upstreams) },
	}
}

// Provision looks the collections up and starts following them.
func (u *Upstreams) Provision(ctx caddy.Context) error {
	if (u.Service == "") == (u.Cluster == "") {
		return fmt.Errorf("mesh upstreams: exactly one of service and cluster must be set")
	}
	if u.Service != "" {
		var ok bool
		u.ns, u.name, ok = strings.Cut(u.Service, "/")
		if !ok || u.ns == "" || u.name == "" {
			return fmt.Errorf("mesh upstreams: service %q must be namespace/name", u.Service)
		}
	}
	app, err := mesh.FromContext(ctx)
	if err != nil {
		return err
	}
	src := u.Source
	if src == "" {
		src = model.MergedSource
	}
	reg := app.Registry()
	if u.Cluster != "" {
		// An Envoy cluster needs only the assignments; its source (xds) may publish no
		// Kubernetes kinds at all.
		clas, err := mesh.Get[*resource.ClusterLoadAssignment](reg, model.CollectionName(src, model.ClusterLoadAssignments))
		if err != nil {
			return fmt.Errorf("mesh upstreams: %w", err)
		}
		none := collection.NewStatic[*discoveryv1.EndpointSlice]()
		none.MarkSynced()
		u.endpoints = NewEndpoints(none, clas)
		return nil
	}
	slices, err := mesh.Get[*discoveryv1.EndpointSlice](reg, model.CollectionName(src, model.EndpointSlices))
	if err != nil {
		return fmt.Errorf("mesh upstreams: %w", err)
	}
	if u.services, err = mesh.Get[*corev1.Service](reg, model.CollectionName(src, model.Services)); err != nil {
		return fmt.Errorf("mesh upstreams: %w", err)
	}
	u.endpoints = NewEndpoints(slices, nil)
	return nil
}

// GetUpstreams returns the current endpoints.
func (u *Upstreams) GetUpstreams(*http.Request) ([]*reverseproxy.Upstream, error) {
	if u.Cluster != "" {
		return upstreamsOf(u.endpoints.Cluster(u.Cluster)), nil
	}
	portName, err := servicePortName(u.services, u.ns, u.name, u.Port)
	if err != nil {
		return nil, err
	}
	return upstreamsOf(u.endpoints.Service(u.ns, u.name, portName)), nil
}

// servicePortName maps a Service's port number to the name its EndpointSlices use.
func servicePortName(services collection.Collection[*corev1.Service], ns, name string, port int32) (string, error) {
	svc, ok := services.Get(model.Key(ns, name))
	if !ok {
		return "", fmt.Errorf("service %s/%s not found", ns, name)
	}
	for _, p := range svc.Spec.Ports {
		if p.Port == port || (port == 0 && len(svc.Spec.Ports) == 1) {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("service %s/%s has no port %d", ns, name, port)
}

// Cleanup stops following the collections.
func (u *Upstreams) Cleanup() error {
	if u.endpoints != nil {
		u.endpoints.Stop()
	}
	return nil
}

// clusterUpstreams is the router's own upstream source for one compiled cluster: the
// port name is resolved at compile time, so a request does one map load.
type clusterUpstreams struct {
	endpoints *Endpoints
	ns, name  string
	portName  string
	eds       string
}

// GetUpstreams returns the cluster's current endpoints.
func (c *clusterUpstreams) GetUpstreams(*http.Request) ([]*reverseproxy.Upstream, error) {
	return upstreamsOf(c.dials()), nil
}

// dials returns the cluster's current addresses, shared.
func (c *clusterUpstreams) dials() []string {
	if c.eds != "" {
		return c.endpoints.Cluster(c.eds)
	}
	return c.endpoints.Service(c.ns, c.name, c.portName)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Upstreams)(nil)
	_ caddy.CleanerUpper          = (*Upstreams)(nil)
	_ reverseproxy.UpstreamSource = (*Upstreams)(nil)
	_ reverseproxy.UpstreamSource = (*clusterUpstreams)(nil)
)
