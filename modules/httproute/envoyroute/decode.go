package envoyroute

import (
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// decodedVirtualHost is one virtual host after validation: its proto and its routes' views,
// or why it was rejected as a whole.
type decodedVirtualHost struct {
	pb     *routev3.VirtualHost
	err    error
	routes []decodedRoute
}

// decodedRoute is one route's view, or why it was rejected.
type decodedRoute struct {
	// name is the route's name, for errors.
	name string
	view *resource.Route
	err  error
}

// decode validates a route configuration with package resource, the decoder the xDS client
// NACKs with, and returns the views of its routes. That decoder judges a resource as a
// whole, but here one bad route must not take the others down. So the whole configuration
// is decoded first, which is the common case and costs one pass; only when it fails is it
// decoded again piece by piece (the configuration's own fields, each virtual host, then each
// route of a failing virtual host) to find which parts are at fault. An error means the
// configuration's own fields are invalid, which leaves nothing to serve.
func decode(rc *routev3.RouteConfiguration) ([]decodedVirtualHost, error) {
	if v, err := decodeConfig(rc); err == nil {
		out := make([]decodedVirtualHost, len(v.VirtualHosts))
		for i := range v.VirtualHosts {
			out[i] = viewsOf(v.VirtualHosts[i].Message(), &v.VirtualHosts[i])
		}
		return out, nil
	}
	return decodePiecewise(rc)
}

// decodePiecewise validates the configuration's own fields, then each virtual host alone.
func decodePiecewise(rc *routev3.RouteConfiguration) ([]decodedVirtualHost, error) {
	if _, err := decodeConfig(without(rc, "virtual_hosts").(*routev3.RouteConfiguration)); err != nil {
		return nil, err
	}
	out := make([]decodedVirtualHost, len(rc.GetVirtualHosts()))
	for i, vh := range rc.GetVirtualHosts() {
		out[i] = decodeVirtualHost(vh)
	}
	return out, nil
}

// viewsOf pairs a virtual host's proto with the views of its routes.
func viewsOf(pb *routev3.VirtualHost, v *resource.VirtualHost) decodedVirtualHost {
	out := decodedVirtualHost{pb: pb, routes: make([]decodedRoute, len(v.Routes))}
	for j := range v.Routes {
		out.routes[j] = decodedRoute{name: v.Routes[j].Name, view: &v.Routes[j]}
	}
	return out
}

// decodeVirtualHost validates one virtual host on its own and, if it fails, its own fields
// and then each route, so that only the routes at fault are rejected.
func decodeVirtualHost(vh *routev3.VirtualHost) decodedVirtualHost {
	if v, err := decodeConfig(wrapVirtualHost(vh)); err == nil {
		return viewsOf(vh, &v.VirtualHosts[0])
	}
	shell := without(vh, "routes").(*routev3.VirtualHost)
	if _, err := decodeConfig(wrapVirtualHost(shell)); err != nil {
		return decodedVirtualHost{pb: vh, err: relative(err, "virtual_hosts[0]")}
	}
	out := decodedVirtualHost{pb: vh, routes: make([]decodedRoute, len(vh.GetRoutes()))}
	for j, r := range vh.GetRoutes() {
		out.routes[j].name = r.GetName()
		// The route is decoded in a virtual host of its own, whose fields were just found
		// valid; only the route can be at fault.
		alone := &routev3.VirtualHost{Name: "route", Domains: []string{"*"}, Routes: []*routev3.Route{r}}
		v, err := decodeConfig(wrapVirtualHost(alone))
		if err != nil {
			out.routes[j].err = relative(err, "virtual_hosts[0].routes[0]")
			continue
		}
		out.routes[j].view = &v.VirtualHosts[0].Routes[0]
	}
	return out
}

// wrapVirtualHost makes a route configuration of one virtual host, for decoding it alone.
func wrapVirtualHost(vh *routev3.VirtualHost) *routev3.RouteConfiguration {
	return &routev3.RouteConfiguration{VirtualHosts: []*routev3.VirtualHost{vh}}
}

// decodeConfig runs package resource's decoder on a route configuration.
func decodeConfig(rc *routev3.RouteConfiguration) (*resource.RouteConfiguration, error) {
	raw, err := proto.Marshal(rc)
	if err != nil {
		return nil, &invalidError{reasons: []string{"cannot encode: " + err.Error()}}
	}
	r, err := resource.Decode(resource.RouteConfigurationTypeURL, raw)
	if err != nil {
		return nil, reasons(err)
	}
	return r.(*resource.RouteConfiguration), nil
}

// reasons keeps the reasons of the decoder's rejection and drops its own framing
// ("invalid RouteConfiguration \"\": ..."), which names a wrapper rather than what the
// caller's error is about.
func reasons(err error) error {
	if ve, ok := err.(*resource.ValidationError); ok {
		return &invalidError{reasons: ve.Reasons}
	}
	return err
}

// without returns a shallow copy of m without one field, sharing the other fields' values:
// it is only marshalled, never changed.
func without(m proto.Message, field protoreflect.Name) proto.Message {
	src := m.ProtoReflect()
	dst := src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Name() != field {
			dst.Set(fd, v)
		}
		return true
	})
	dst.SetUnknown(src.GetUnknown())
	return dst.Interface()
}

// invalidError is a rejection by the decoder: its reasons, each "field.path: problem".
type invalidError struct {
	reasons []string
}

func (e *invalidError) Error() string {
	return strings.Join(e.reasons, "; ")
}

// relative rewrites the field paths of a rejection of a wrapped piece so that they start
// at the piece itself ("match.safe_regex" rather than
// "virtual_hosts[0].routes[0].match.safe_regex").
func relative(err error, prefix string) error {
	ie, ok := err.(*invalidError)
	if !ok {
		return err
	}
	out := &invalidError{reasons: make([]string, len(ie.reasons))}
	for i, r := range ie.reasons {
		switch {
		case strings.HasPrefix(r, prefix+"."):
			r = r[len(prefix)+1:]
		case strings.HasPrefix(r, prefix+": "):
			r = r[len(prefix)+2:]
		}
		out.reasons[i] = r
	}
	return out
}
