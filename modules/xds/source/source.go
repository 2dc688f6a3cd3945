// Package source is the mesh source "xds": a node agent or gateway gets its listeners,
// clusters, routes, endpoints and secrets from an xDS v3 management server (istiod, Envoy
// Gateway, a go-control-plane based control plane) over one ADS stream, and sees them as
// collections. The protocol lives in package xds, usable without Caddy; this package only
// binds it to the mesh app.
package source

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/xds"
)

func init() {
	caddy.RegisterModule(new(Source))
}

// pool keeps each source's ADS stream across config reloads, keyed by the source's name and
// configuration: a reload that leaves the source unchanged neither reconnects nor re-reads.
var pool = caddy.NewUsagePool()

// Source subscribes to an xDS management server over ADS and publishes what it accepts as
// the collections "<name>/listeners", "clusters", "routeconfigurations",
// "clusterloadassignments" and "secrets". Resources that fail validation are NACKed and keep
// their last good value; the NACK shows as the collection's last error.
type Source struct {
	// Server is the management server's address: host:port, or unix:<path>. Required.
	Server string `json:"server,omitempty"`

	// Node identifies this client to the server.
	Node *NodeConfig `json:"node,omitempty"`

	// Delta selects the incremental (delta) variant of ADS. Default: on. Off uses the
	// state-of-the-world protocol.
	Delta *bool `json:"delta,omitempty"`

	// Auth authenticates to the server. Default: none (plaintext).
	Auth *AuthConfig `json:"auth,omitempty"`

	// Subscribe lists what to subscribe to. Default: every listener and every cluster
	// (wildcard LDS and CDS); with auto-subscription on, that brings the routes and
	// endpoints they reference.
	Subscribe []Subscription `json:"subscribe,omitempty"`

	// AutoSubscribe subscribes to the route configurations named by accepted listeners and
	// to the endpoints of accepted EDS clusters. Default: on.
	AutoSubscribe *bool `json:"auto_subscribe,omitempty"`

	// ResourceLimit caps how many resources the source holds; a response that would exceed
	// it is NACKed. Default: 0, no limit.
	ResourceLimit int `json:"resource_limit,omitempty"`

	// ResourceTimeout is how long a named resource the server never sends is waited for
	// before it is reported as missing. Default: 15s.
	ResourceTimeout caddy.Duration `json:"resource_timeout,omitempty"`

	// name is the source name the Caddyfile gave; in JSON the name is the map key.
	name string

	cfg     xds.AdsConfig
	subs    []subscription
	logger  *zap.Logger
	poolKey string
	state   *streamState
}

// NodeConfig identifies the client to the server, as Envoy's --service-node,
// --service-cluster and --service-zone do.
type NodeConfig struct {
	// ID is the node ID. Default: the source name.
	ID string `json:"id,omitempty"`
	// Cluster is the service cluster of this node.
	Cluster string `json:"cluster,omitempty"`
	// Region, Zone and SubZone are the node's locality.
	Region  string `json:"region,omitempty"`
	Zone    string `json:"zone,omitempty"`
	SubZone string `json:"sub_zone,omitempty"`
	// Metadata is sent as the node's metadata (a JSON object).
	Metadata map[string]any `json:"metadata,omitempty"`
}

// AuthConfig authenticates the client.
type AuthConfig struct {
	// Mode is "bearer", "mtls" or empty for none.
	Mode string `json:"mode,omitempty"`
	// Token is a bearer token, sent as per-RPC credentials.
	Token string `json:"token,omitempty"`
	// TokenFile is a file holding the bearer token, re-read for each stream so that
	// rotated tokens (Kubernetes service account tokens) keep working.
	TokenFile string `json:"token_file,omitempty"`
	// Cert and Key are the client certificate and key files (mtls).
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
	// CA is the file of CA certificates that sign the server's certificate (mtls, or
	// bearer over TLS).
	CA string `json:"ca,omitempty"`
	// ServerName overrides the name checked in the server's certificate. Default: the
	// host of Server.
	ServerName string `json:"server_name,omitempty"`
}

// Subscription is one type to subscribe to.
type Subscription struct {
	// Type is a type URL, or one of the short names lds, cds, rds, eds, sds.
	Type string `json:"type"`
	// Names are the resources to subscribe to. Default: all (a wildcard subscription).
	Names []string `json:"names,omitempty"`
}

type subscription struct {
	typeURL xds.TypeURL
	names   []string
}

// CaddyModule returns the Caddy module information.
func (*Source) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "mesh.sources.xds",
		New: func() caddy.Module { return new(Source) },
	}
}

// Provision builds the client configuration.
func (s *Source) Provision(ctx caddy.Context) error {
	s.logger = ctx.Logger()
	if s.Node == nil {
		s.Node = new(NodeConfig)
	}
	if s.Auth == nil {
		s.Auth = new(AuthConfig)
	}
	repl := caddy.NewReplacer()
	auth := xds.Auth{
		Mode:       xds.AuthMode(s.Auth.Mode),
		Token:      repl.ReplaceKnown(s.Auth.Token, ""),
		TokenFile:  repl.ReplaceKnown(s.Auth.TokenFile, ""),
		CertFile:   repl.ReplaceKnown(s.Auth.Cert, ""),
		KeyFile:    repl.ReplaceKnown(s.Auth.Key, ""),
		CAFile:     repl.ReplaceKnown(s.Auth.CA, ""),
		ServerName: s.Auth.ServerName,
	}
	node := xds.NewNode(repl.ReplaceKnown(s.Node.ID, ""), repl.ReplaceKnown(s.Node.Cluster, "")).
		WithLocality(s.Node.Region, s.Node.Zone, s.Node.SubZone)
	for k, v := range s.Node.Metadata {
		node = node.WithMetadata(k, v)
	}
	s.cfg = xds.AdsConfig{
		Server:                      repl.ReplaceKnown(s.Server, ""),
		Node:                        node,
		Auth:                        auth,
		StateOfTheWorld:             s.Delta != nil && !*s.Delta,
		ResourceLimit:               s.ResourceLimit,
		ResourceDoesNotExistTimeout: time.Duration(s.ResourceTimeout),
	}
	subs, err := parseSubscriptions(s.Subscribe)
	if err != nil {
		return err
	}
	s.subs = subs
	return nil
}

// Validate checks the configuration (without connecting).
func (s *Source) Validate() error {
	if s.Server == "" {
		return fmt.Errorf("xds source: no server address")
	}
	cfg := s.cfg
	if cfg.Node.ID == "" {
		cfg.Node.ID = "validate" // the source name is filled in at Publish
	}
	if err := cfg.WithDefaults().Validate(); err != nil {
		return fmt.Errorf("xds source: %w", err)
	}
	return nil
}

// Publish connects (or takes over the stream of an unchanged previous config) and publishes
// the source's collections.
func (s *Source) Publish(p *mesh.Publisher) error {
	if s.cfg.Node.ID == "" {
		s.cfg.Node.ID = p.Source()
	}
	identity, err := json.Marshal(struct {
		Name   string  `json:"name"`
		Config *Source `json:"config"`
	}{p.Source(), s})
	if err != nil {
		return fmt.Errorf("computing the source's identity: %w", err)
	}
	s.poolKey = "mesh.sources.xds:" + string(identity)
	val, loaded, err := pool.LoadOrNew(s.poolKey, func() (caddy.Destructor, error) {
		return startStream(p.Source(), s.cfg.WithDefaults(), s.subs, s.autoSubscribe(), s.logger)
	})
	if err != nil {
		s.poolKey = ""
		return fmt.Errorf("starting the ADS stream to %s: %w", s.Server, err)
	}
	s.state = val.(*streamState)
	if loaded {
		s.logger.Debug("reusing the ADS stream of the previous config", zap.String("source", p.Source()))
	}
	return s.state.publish(p)
}

func (s *Source) autoSubscribe() bool { return s.AutoSubscribe == nil || *s.AutoSubscribe }

// Cleanup releases this config's hold on the stream; the last holder closes it.
func (s *Source) Cleanup() error {
	if s.poolKey == "" {
		return nil
	}
	_, err := pool.Delete(s.poolKey)
	return err
}

// CaddyfileName returns the name the Caddyfile gave the source.
func (s *Source) CaddyfileName() string { return s.name }

// Interface guards
var (
	_ caddy.Provisioner  = (*Source)(nil)
	_ caddy.Validator    = (*Source)(nil)
	_ caddy.CleanerUpper = (*Source)(nil)
	_ mesh.Source        = (*Source)(nil)
)
