package resource

import (
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// typeURLPrefix is the host part every xDS type URL carries. It is the prefix that
// anypb.New writes, and the one management servers send.
const typeURLPrefix = "type.googleapis.com/"

// The type URLs of the resources this package decodes. They are derived from the generated
// descriptors rather than written out, so that they cannot drift from the protos.
var (
	// ListenerTypeURL is the type URL of LDS resources.
	ListenerTypeURL = typeURLOf(&listenerv3.Listener{})
	// ClusterTypeURL is the type URL of CDS resources.
	ClusterTypeURL = typeURLOf(&clusterv3.Cluster{})
	// RouteConfigurationTypeURL is the type URL of RDS resources.
	RouteConfigurationTypeURL = typeURLOf(&routev3.RouteConfiguration{})
	// ClusterLoadAssignmentTypeURL is the type URL of EDS resources.
	ClusterLoadAssignmentTypeURL = typeURLOf(&endpointv3.ClusterLoadAssignment{})
	// SecretTypeURL is the type URL of SDS resources.
	SecretTypeURL = typeURLOf(&tlsv3.Secret{})
)

// typeURLOf returns the canonical type URL of a message.
func typeURLOf(m proto.Message) string {
	return typeURLPrefix + string(m.ProtoReflect().Descriptor().FullName())
}

// messageName returns the message name a type URL refers to: everything after its last
// slash, as in google.protobuf.Any's contract. Comparing names instead of whole URLs accepts
// the (rare) servers that use another host prefix, as Envoy does.
func messageName(typeURL string) protoreflect.FullName {
	for i := len(typeURL) - 1; i >= 0; i-- {
		if typeURL[i] == '/' {
			return protoreflect.FullName(typeURL[i+1:])
		}
	}
	return protoreflect.FullName(typeURL)
}

// Resource is what every top-level view has in common, so that the ADS client and the
// collections can store, compare and display resources without knowing their kind.
type Resource interface {
	// Name is the resource name the server keys it by (the cluster_name of a
	// ClusterLoadAssignment).
	Name() string
	// TypeURL is the canonical type URL of the resource kind.
	TypeURL() string
	// Proto is the decoded proto. It is shared: callers must not modify it.
	Proto() proto.Message
	// Raw is the serialized resource, for extensions this package does not interpret and
	// for cheap equality checks. It is shared: callers must not modify it.
	Raw() []byte
}

// meta holds what every view carries besides its own fields. It is embedded so that each
// view gets Name, TypeURL, Raw, String and GoString once, and so that none of it is an
// exported field: the proto and raw bytes stay out of JSON and fmt output, where a Secret's
// private key must never appear.
type meta struct {
	name    string
	typeURL string
	msg     proto.Message
	// raw is the serialized resource as received; nil for a view embedded in another
	// resource (a Cluster's load_assignment, an inline route_config), whose bytes Raw
	// computes on demand.
	raw []byte
}

// Name returns the resource name.
func (m *meta) Name() string { return m.name }

// TypeURL returns the canonical type URL of the resource kind.
func (m *meta) TypeURL() string { return m.typeURL }

// Raw returns the serialized resource. For a resource received on its own these are the
// exact bytes decoded; for one embedded in another resource they are marshalled
// deterministically on each call.
func (m *meta) Raw() []byte {
	if m.raw != nil || m.msg == nil {
		return m.raw
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m.msg)
	if err != nil {
		// A message that was unmarshalled or built by this package always marshals;
		// returning nil keeps Raw total without hiding a panic-worthy bug elsewhere.
		return nil
	}
	return b
}

// String names the resource, as "Cluster \"backend\"". It deliberately shows no fields:
// views of secrets and of listeners with inline certificates carry private keys in their
// raw bytes.
func (m *meta) String() string {
	return fmt.Sprintf("%s %q", messageShortName(m.typeURL), m.name)
}

// GoString is String, so that %#v cannot dump the raw bytes either.
func (m *meta) GoString() string { return m.String() }

// messageShortName returns the last element of a type URL's message name ("Cluster").
func messageShortName(typeURL string) string {
	return string(messageName(typeURL).Name())
}
