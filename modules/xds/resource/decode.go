package resource

import (
	"fmt"
	"unicode/utf8"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// message is a generated xDS proto: a proto.Message with generated validation.
type message interface {
	proto.Message
	generatedValidator
}

// kind decodes one resource kind. It ties the proto type to its view so that the steps
// every kind shares (unmarshal, generated validation, semantic checks, the error) are
// written once.
type kind[M message, V Resource] struct {
	typeURL string
	// nameField is the number of the field holding the resource name, used to name the
	// resource in errors even when the rest of its bytes do not unmarshal.
	nameField protowire.Number
	newMsg    func() M
	name      func(M) string
	// build makes the view and records every semantic problem; it must cope with
	// messages that failed generated validation.
	build func(m M, base meta, ps *problems) V
}

// newKind describes a kind, taking its type URL and name field from the descriptor.
func newKind[M message, V Resource](newMsg func() M, nameField protoreflect.Name, name func(M) string, build func(M, meta, *problems) V) *kind[M, V] {
	desc := newMsg().ProtoReflect().Descriptor()
	return &kind[M, V]{
		typeURL:   typeURLPrefix + string(desc.FullName()),
		nameField: desc.Fields().ByName(nameField).Number(),
		newMsg:    newMsg,
		name:      name,
		build:     build,
	}
}

// decode unmarshals, validates and builds one resource. raw is kept by the view and must
// not be modified afterwards.
func (k *kind[M, V]) decode(raw []byte) (V, error) {
	var zero V
	m := k.newMsg()
	if err := proto.Unmarshal(raw, m); err != nil {
		return zero, &ValidationError{
			TypeURL: k.typeURL,
			Name:    peekName(raw, k.nameField),
			Reasons: []string{"cannot unmarshal: " + err.Error()},
			Err:     fmt.Errorf("%w: %w", ErrMalformed, err),
		}
	}
	name := k.name(m)
	var ps problems
	validateGenerated(&ps, nil, m)
	v := k.build(m, meta{name: name, typeURL: k.typeURL, msg: m, raw: raw}, &ps)
	if !ps.ok() {
		return zero, &ValidationError{TypeURL: k.typeURL, Name: name, Reasons: ps.list()}
	}
	return v, nil
}

// decodeAny checks that a carries this kind before decoding its value.
func (k *kind[M, V]) decodeAny(a *anypb.Any) (V, error) {
	var zero V
	if a == nil {
		return zero, &ValidationError{TypeURL: k.typeURL, Reasons: []string{"no resource"}, Err: ErrWrongType}
	}
	if want := messageName(k.typeURL); messageName(a.GetTypeUrl()) != want {
		return zero, &ValidationError{
			TypeURL: k.typeURL,
			Name:    peekName(a.GetValue(), k.nameField),
			Reasons: []string{fmt.Sprintf("type URL %q is not %s", a.GetTypeUrl(), want)},
			Err:     ErrWrongType,
		}
	}
	return k.decode(a.GetValue())
}

// peekName reads the name field from the top level of a serialized message that may be
// truncated or corrupt further on, so that a NACK can still say which resource it rejects.
func peekName(raw []byte, field protowire.Number) string {
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return ""
		}
		raw = raw[n:]
		if num == field && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(raw)
			if n < 0 || !utf8.Valid(v) {
				return ""
			}
			return string(v)
		}
		n = protowire.ConsumeFieldValue(num, typ, raw)
		if n < 0 {
			return ""
		}
		raw = raw[n:]
	}
	return ""
}

// The kinds this package decodes.
var (
	listenerKind = newKind(func() *listenerv3.Listener { return new(listenerv3.Listener) },
		"name", (*listenerv3.Listener).GetName, buildListener)
	clusterKind = newKind(func() *clusterv3.Cluster { return new(clusterv3.Cluster) },
		"name", (*clusterv3.Cluster).GetName, buildCluster)
	routeConfigurationKind = newKind(func() *routev3.RouteConfiguration { return new(routev3.RouteConfiguration) },
		"name", (*routev3.RouteConfiguration).GetName, buildRouteConfiguration)
	clusterLoadAssignmentKind = newKind(func() *endpointv3.ClusterLoadAssignment { return new(endpointv3.ClusterLoadAssignment) },
		"cluster_name", (*endpointv3.ClusterLoadAssignment).GetClusterName, buildClusterLoadAssignment)
	secretKind = newKind(func() *tlsv3.Secret { return new(tlsv3.Secret) },
		"name", (*tlsv3.Secret).GetName, buildSecret)
)

// decoders dispatches Decode by message name, so that every kind is decoded by exactly the
// code its typed decoder uses.
var decoders = map[protoreflect.FullName]func([]byte) (Resource, error){
	messageName(listenerKind.typeURL):              asResource(listenerKind),
	messageName(clusterKind.typeURL):               asResource(clusterKind),
	messageName(routeConfigurationKind.typeURL):    asResource(routeConfigurationKind),
	messageName(clusterLoadAssignmentKind.typeURL): asResource(clusterLoadAssignmentKind),
	messageName(secretKind.typeURL):                asResource(secretKind),
}

// asResource adapts a kind's decode to the untyped Decode. It returns a nil interface, not
// a typed nil pointer, on error.
func asResource[M message, V Resource](k *kind[M, V]) func([]byte) (Resource, error) {
	return func(raw []byte) (Resource, error) {
		v, err := k.decode(raw)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

// Supported reports whether Decode has a decoder for typeURL. A client uses it to keep
// resources of custom type URLs as opaque bytes instead of rejecting them.
func Supported(typeURL string) bool {
	_, ok := decoders[messageName(typeURL)]
	return ok
}

// Decode decodes raw as a resource of the kind typeURL names. It is what an ADS client calls
// for each resource of a response, whatever the stream's type. Errors are always
// *ValidationError; one with ErrUnsupportedType means typeURL is not one of the five kinds.
// raw is kept by the view and must not be modified afterwards.
func Decode(typeURL string, raw []byte) (Resource, error) {
	dec, ok := decoders[messageName(typeURL)]
	if !ok {
		return nil, &ValidationError{
			TypeURL: typeURL,
			Reasons: []string{fmt.Sprintf("no decoder for type URL %q", typeURL)},
			Err:     ErrUnsupportedType,
		}
	}
	return dec(raw)
}

// DecodeListener decodes an LDS resource. Errors are *ValidationError.
func DecodeListener(a *anypb.Any) (*Listener, error) { return listenerKind.decodeAny(a) }

// DecodeCluster decodes a CDS resource. Errors are *ValidationError.
func DecodeCluster(a *anypb.Any) (*Cluster, error) { return clusterKind.decodeAny(a) }

// DecodeRouteConfiguration decodes an RDS resource. Errors are *ValidationError.
func DecodeRouteConfiguration(a *anypb.Any) (*RouteConfiguration, error) {
	return routeConfigurationKind.decodeAny(a)
}

// DecodeClusterLoadAssignment decodes an EDS resource. Errors are *ValidationError.
func DecodeClusterLoadAssignment(a *anypb.Any) (*ClusterLoadAssignment, error) {
	return clusterLoadAssignmentKind.decodeAny(a)
}

// DecodeSecret decodes an SDS resource. Errors are *ValidationError.
func DecodeSecret(a *anypb.Any) (*Secret, error) { return secretKind.decodeAny(a) }
