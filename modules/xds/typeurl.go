package xds

import (
	"fmt"
	"strings"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// TypeURL names a resource type on the ADS stream, as the type_url of a discovery request
// and the @type of each google.protobuf.Any in a response. A distinct type keeps type URLs
// and resource names, both strings, from being swapped in Subscribe and in errors.
type TypeURL string

// The type URLs of the five resource types every Envoy-style mesh uses. They are taken
// from go-control-plane, the server we test against, so the two can never disagree.
const (
	ListenerType TypeURL = resourcev3.ListenerType // LDS: envoy.config.listener.v3.Listener
	RouteType    TypeURL = resourcev3.RouteType    // RDS: envoy.config.route.v3.RouteConfiguration
	ClusterType  TypeURL = resourcev3.ClusterType  // CDS: envoy.config.cluster.v3.Cluster
	EndpointType TypeURL = resourcev3.EndpointType // EDS: envoy.config.endpoint.v3.ClusterLoadAssignment
	SecretType   TypeURL = resourcev3.SecretType   // SDS: envoy.extensions.transport_sockets.tls.v3.Secret
)

// TypeURLPrefix is what every xDS type URL starts with: the Any convention for messages
// whose descriptors the receiver already has.
const TypeURLPrefix = resourcev3.APITypePrefix

// builtinKinds maps the five well-known type URLs to the collection kinds the mesh model
// fixes for them, so the xDS source feeds the same collections consumers already read.
var builtinKinds = map[TypeURL]string{
	ListenerType: model.Listeners,
	RouteType:    model.RouteConfigurations,
	ClusterType:  model.Clusters,
	EndpointType: model.ClusterLoadAssignments,
	SecretType:   model.Secrets,
}

// BuiltinTypeURLs returns the five well-known type URLs in a fixed order (LDS, RDS, CDS,
// EDS, SDS), for callers that subscribe to or list all of them and want stable output.
func BuiltinTypeURLs() []TypeURL {
	return []TypeURL{ListenerType, RouteType, ClusterType, EndpointType, SecretType}
}

// ParseTypeURL checks that s is a type URL of the form
// "type.googleapis.com/<full.proto.MessageName>" and returns it. It is how callers declare
// custom resource types (any message a management server sends over ADS), so that a typo
// fails at configuration time instead of as a subscription the server never answers.
func ParseTypeURL(s string) (TypeURL, error) {
	t := TypeURL(s)
	if err := t.Validate(); err != nil {
		return "", err
	}
	return t, nil
}

// MustParseTypeURL is ParseTypeURL for type URLs fixed in the program's source; it panics
// on a malformed one, which is a programming error.
func MustParseTypeURL(s string) TypeURL {
	t, err := ParseTypeURL(s)
	if err != nil {
		panic(err)
	}
	return t
}

// TypeURLOf returns the type URL of m's message type. It saves callers of custom types
// from spelling the URL by hand when they have the generated Go type.
func TypeURLOf(m proto.Message) TypeURL {
	return TypeURL(TypeURLPrefix + string(m.ProtoReflect().Descriptor().FullName()))
}

// Validate reports whether t has the type.googleapis.com/ prefix followed by a valid,
// fully qualified protobuf message name.
func (t TypeURL) Validate() error {
	name, ok := strings.CutPrefix(string(t), TypeURLPrefix)
	if !ok {
		return fmt.Errorf("type URL %q: must start with %q", string(t), TypeURLPrefix)
	}
	if err := validateMessageName(name); err != nil {
		return fmt.Errorf("type URL %q: %w", string(t), err)
	}
	return nil
}

// MessageName returns the full protobuf message name, t without its prefix, as it appears
// in the resource type segment of an xdstp:// name.
func (t TypeURL) MessageName() string {
	return strings.TrimPrefix(string(t), TypeURLPrefix)
}

// IsBuiltin reports whether t is one of the five well-known types (LDS, RDS, CDS, EDS,
// SDS), whose kinds and item types the mesh model fixes.
func (t TypeURL) IsBuiltin() bool {
	_, ok := builtinKinds[t]
	return ok
}

// Kind returns the collection kind that resources of type t are published under, as
// "<source>/<kind>":
//
//   - the five well-known types use the mesh model's kinds: listeners,
//     routeconfigurations, clusters, clusterloadassignments and secrets;
//   - any other type uses the lowercase plural of its message's simple name, as a
//     Kubernetes API path would: envoy.config.core.v3.TypedExtensionConfig becomes
//     "typedextensionconfigs", a Policy "policies", an Address "addresses";
//   - when that would collide with a well-known kind (the Thrift proxy's
//     RouteConfiguration, say), the lowercase full name is used instead, with the plural
//     on its last part: "envoy.extensions.filters.network.thrift_proxy.v3.routeconfigurations".
//
// Two custom types in different packages with the same simple name still share a kind;
// a source that subscribes to both must name their collections itself. t is assumed to be
// valid (see Validate).
func (t TypeURL) Kind() string {
	if k, ok := builtinKinds[t]; ok {
		return k
	}
	full := strings.ToLower(t.MessageName())
	pkg, simple := "", full
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		pkg, simple = full[:i+1], full[i+1:]
	}
	kind := plural(simple)
	for _, k := range builtinKinds {
		if k == kind {
			return pkg + kind
		}
	}
	return kind
}

// plural applies the English rules that cover protobuf message names, the same few that
// Kubernetes uses to name resources: -s/-x/-z/-ch/-sh take -es, a consonant before -y
// becomes -ies, everything else takes -s.
func plural(s string) string {
	switch {
	case s == "":
		return s
	case strings.HasSuffix(s, "s"), strings.HasSuffix(s, "x"), strings.HasSuffix(s, "z"),
		strings.HasSuffix(s, "ch"), strings.HasSuffix(s, "sh"):
		return s + "es"
	case len(s) > 1 && s[len(s)-1] == 'y' && !strings.ContainsRune("aeiou", rune(s[len(s)-2])):
		return s[:len(s)-1] + "ies"
	default:
		return s + "s"
	}
}

// validateMessageName checks a fully qualified protobuf message name: dot-separated
// identifiers, each a letter or underscore followed by letters, digits and underscores.
func validateMessageName(name string) error {
	if name == "" {
		return fmt.Errorf("missing protobuf message name")
	}
	if !protoreflect.FullName(name).IsValid() {
		return fmt.Errorf("%q is not a fully qualified protobuf message name", name)
	}
	return nil
}
