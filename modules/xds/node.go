package xds

import (
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// DefaultUserAgentName is the user agent name sent when a Node does not set one. Control
// planes use it to tell client implementations apart (Envoy, gRPC, ours) and to pick
// features.
const DefaultUserAgentName = "caddymesh"

// modulePath is the module whose version becomes the default user agent version.
const modulePath = "github.com/caddymesh/caddymesh"

// Node identifies this client to the management server: the first request of every
// stream carries it. Control planes key their snapshots by its ID (go-control-plane's
// cache, istiod), select configuration by its Cluster, Locality and Metadata, and gate
// features on its user agent and ClientFeatures.
//
// A Node is a value built with NewNode and the With methods, each of which returns a
// modified copy, so a Node shared between configurations is never changed behind their
// back. Proto converts it to the protobuf message.
type Node struct {
	// ID uniquely identifies this node to the server. It is required.
	ID string
	// Cluster is the service cluster the node belongs to, as Envoy's --service-cluster.
	Cluster string
	// Locality places the node for locality-aware load balancing.
	Locality Locality
	// UserAgentName defaults to DefaultUserAgentName.
	UserAgentName string
	// UserAgentVersion defaults to the version of module github.com/caddymesh/caddymesh in
	// the running binary's build info, or "devel" when it has none (a build from a checkout).
	UserAgentVersion string
	// Metadata is free-form data for the control plane (Istio reads its ISTIO_VERSION,
	// CLUSTER_ID, NAMESPACE, ... keys from here). Values must be what structpb.NewValue
	// accepts: nil, bool, numbers, string, []byte, []any and map[string]any.
	Metadata map[string]any
	// ClientFeatures lists the well-known client features this client supports
	// ("envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw", ...).
	ClientFeatures []string
}

// Locality is where a node runs: region, zone (availability zone) and sub-zone (a rack,
// or a node in Kubernetes terms), coarse to fine. Any level may be empty.
type Locality struct {
	Region  string
	Zone    string
	SubZone string
}

// NewNode starts a Node with the two fields every control plane looks at.
func NewNode(id, cluster string) Node {
	return Node{ID: id, Cluster: cluster}
}

// WithLocality returns a copy of n placed in region, zone and sub-zone.
func (n Node) WithLocality(region, zone, subZone string) Node {
	n.Locality = Locality{Region: region, Zone: zone, SubZone: subZone}
	return n
}

// WithUserAgent returns a copy of n that reports name and version as its user agent, for
// programs built on this package that want the control plane to know them by their own
// name.
func (n Node) WithUserAgent(name, version string) Node {
	n.UserAgentName, n.UserAgentVersion = name, version
	return n
}

// WithMetadata returns a copy of n with key set to value in its metadata.
func (n Node) WithMetadata(key string, value any) Node {
	md := make(map[string]any, len(n.Metadata)+1)
	maps.Copy(md, n.Metadata)
	md[key] = value
	n.Metadata = md
	return n
}

// WithClientFeatures returns a copy of n that also announces features, each once.
func (n Node) WithClientFeatures(features ...string) Node {
	all := slices.Clone(n.ClientFeatures)
	for _, f := range features {
		if !slices.Contains(all, f) {
			all = append(all, f)
		}
	}
	n.ClientFeatures = all
	return n
}

// Validate reports what would make the server refuse or misfile this node: a missing ID,
// or metadata that cannot be expressed as a protobuf Struct.
func (n Node) Validate() error {
	var errs []error
	if n.ID == "" {
		errs = append(errs, errors.New("id is required"))
	}
	if _, err := metadataStruct(n.Metadata); err != nil {
		errs = append(errs, err)
	}
	for i, f := range n.ClientFeatures {
		if f == "" {
			errs = append(errs, fmt.Errorf("client feature %d is empty", i))
		}
	}
	return errors.Join(errs...)
}

// Proto validates n and returns the envoy.config.core.v3.Node to send, with the user agent
// defaults filled in. Each call returns a new message that the caller may modify.
func (n Node) Proto() (*corev3.Node, error) {
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("node %q: %w", n.ID, err)
	}
	md, _ := metadataStruct(n.Metadata) // checked by Validate
	name, version := n.UserAgentName, n.UserAgentVersion
	if name == "" {
		name = DefaultUserAgentName
	}
	if version == "" {
		version = defaultVersion()
	}
	p := &corev3.Node{
		Id:                   n.ID,
		Cluster:              n.Cluster,
		Metadata:             md,
		UserAgentName:        name,
		UserAgentVersionType: &corev3.Node_UserAgentVersion{UserAgentVersion: version},
		ClientFeatures:       slices.Clone(n.ClientFeatures),
	}
	if n.Locality != (Locality{}) {
		p.Locality = &corev3.Locality{
			Region:  n.Locality.Region,
			Zone:    n.Locality.Zone,
			SubZone: n.Locality.SubZone,
		}
	}
	return p, nil
}

// metadataStruct converts metadata key by key, so that an error names the key at fault
// (structpb.NewStruct does not), in sorted order so the same input gives the same error.
func metadataStruct(md map[string]any) (*structpb.Struct, error) {
	if len(md) == 0 {
		return nil, nil
	}
	s := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(md))}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		v, err := structpb.NewValue(md[k])
		if err != nil {
			return nil, fmt.Errorf("metadata key %q: %w", k, err)
		}
		s.Fields[k] = v
	}
	return s, nil
}

// defaultVersion is the version of this module in the running binary: the main module's
// version when caddymesh is the program, the dependency's version when it is built into
// another one (xcaddy, a user's program). Development builds report "(devel)", and tests
// have no version at all; both become "devel".
var defaultVersion = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return moduleVersion(info, modulePath)
})

// moduleVersion finds path among the main module and the dependencies of info.
func moduleVersion(info *debug.BuildInfo, path string) string {
	version := ""
	if info.Main.Path == path {
		version = info.Main.Version
	} else {
		for _, dep := range info.Deps {
			if dep.Path == path {
				version = dep.Version
				if dep.Replace != nil {
					// A directory replacement has no version: it is a development build.
					version = dep.Replace.Version
				}
				break
			}
		}
	}
	if version == "" || version == "(devel)" {
		return "devel"
	}
	return version
}
