package xds

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// ErrInvalidConfig is wrapped by the error AdsConfig.Validate returns, so that callers can
// tell a configuration mistake (fix the config) from a failure to connect (wait and retry).
var ErrInvalidConfig = errors.New("invalid ADS config")

// Defaults for AdsConfig's zero-valued fields.
const (
	// DefaultKeepaliveTime is gRPC's xDS client default. Shorter intervals are unsafe with
	// an arbitrary server: grpc-go servers by default answer pings more frequent than every
	// five minutes with GOAWAY ("too_many_pings"), which would drop the stream.
	DefaultKeepaliveTime = 5 * time.Minute
	// DefaultKeepaliveTimeout is how long a ping may go unanswered before the connection is
	// considered dead (gRPC's default).
	DefaultKeepaliveTimeout = 20 * time.Second
	// DefaultInitialResponseTimeout bounds how long connecting waits for the server's first
	// response before reporting a connection error: long enough for a control plane that
	// computes a large snapshot, short enough that a wrong address is noticed.
	DefaultInitialResponseTimeout = 30 * time.Second
	// DefaultResourceDoesNotExistTimeout is how long a subscribed name may stay unanswered
	// before it is reported as not existing, as in gRPC's xDS client (gRFC A57).
	DefaultResourceDoesNotExistTimeout = 15 * time.Second
	// DefaultMaxReceiveMessageSize lifts gRPC's 4 MiB limit: a state-of-the-world response
	// carrying ten thousand clusters is larger than that, and Envoy imposes no such limit.
	DefaultMaxReceiveMessageSize = 64 << 20
	// minKeepaliveTime is the floor gRPC silently raises keepalive time to; Validate
	// refuses lower values instead of letting them be changed behind the user's back.
	minKeepaliveTime = 10 * time.Second
	// minConnectTimeout is gRPC's default for one connection attempt, restated because
	// grpc.WithConnectParams replaces the default with its own (zero) field.
	minConnectTimeout = 20 * time.Second
)

// AdsConfig is everything needed to open one Aggregated Discovery Service stream. It is a
// plain value with no Caddy types, so the library can be used on its own; the
// mesh.sources.xds module maps its JSON onto it.
//
// Zero-valued fields mean "the default"; WithDefaults spells the defaults out and Validate
// accepts a config before or after it.
type AdsConfig struct {
	// Server is the management server's address: "host:port", or "unix:path" for a server
	// on a local socket. Required.
	Server string
	// Node identifies this client to the server; Node.ID is required.
	Node Node
	// Auth holds the credentials and the trust in the server; the zero value is
	// plaintext without credentials.
	Auth Auth

	// StateOfTheWorld selects the state-of-the-world protocol (DiscoveryRequest) instead
	// of the incremental one (DeltaDiscoveryRequest). Delta is the default because it
	// scales (an update carries only what changed, not every resource of the type), it is
	// the only protocol xdstp:// glob collections work with, and the control planes we
	// target (istiod since 1.8, Envoy Gateway, go-control-plane) serve it. The field is
	// inverted, rather than a *bool named Delta, so that the zero value means delta
	// without a pointer that every reader must nil-check.
	StateOfTheWorld bool

	// Keepalive controls HTTP/2 pings that detect a dead connection.
	Keepalive Keepalive
	// Backoff controls the delay between reconnect attempts.
	Backoff Backoff

	// InitialResponseTimeout is how long connecting waits for the server's first
	// response. Default DefaultInitialResponseTimeout.
	InitialResponseTimeout time.Duration
	// ResourceDoesNotExistTimeout is how long a subscribed resource may go unanswered
	// before it is reported as not existing. Default DefaultResourceDoesNotExistTimeout.
	ResourceDoesNotExistTimeout time.Duration
	// ResourceLimit caps the number of resources, of all types together, the client
	// holds. A response that would exceed it fails with KindOverLimit. 0 means no limit.
	ResourceLimit int
	// MaxReceiveMessageSize caps one response's size in bytes. Default
	// DefaultMaxReceiveMessageSize.
	MaxReceiveMessageSize int
}

// Keepalive is the HTTP/2 ping schedule: a ping after Time without activity, and the
// connection closed if it is not answered within Timeout. Zero fields take the defaults; a
// negative Time turns pings off.
type Keepalive struct {
	Time    time.Duration
	Timeout time.Duration
}

// UseDelta reports whether the incremental (delta) protocol is used, the default.
func (c AdsConfig) UseDelta() bool { return !c.StateOfTheWorld }

// WithDefaults returns a copy of c with every zero-valued duration, size and backoff
// field set to its default, so that logs and status pages show the values in force.
func (c AdsConfig) WithDefaults() AdsConfig {
	if c.Keepalive.Time == 0 {
		c.Keepalive.Time = DefaultKeepaliveTime
	}
	if c.Keepalive.Timeout == 0 {
		c.Keepalive.Timeout = DefaultKeepaliveTimeout
	}
	c.Backoff = c.Backoff.withDefaults()
	if c.InitialResponseTimeout == 0 {
		c.InitialResponseTimeout = DefaultInitialResponseTimeout
	}
	if c.ResourceDoesNotExistTimeout == 0 {
		c.ResourceDoesNotExistTimeout = DefaultResourceDoesNotExistTimeout
	}
	if c.MaxReceiveMessageSize == 0 {
		c.MaxReceiveMessageSize = DefaultMaxReceiveMessageSize
	}
	return c
}

// Validate reports every problem with c at once, each prefixed with the field it concerns,
// wrapped in ErrInvalidConfig. It reads no files (see Auth.Validate).
func (c AdsConfig) Validate() error {
	var errs []error
	field := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	addr, err := parseServerAddress(c.Server)
	field("server", err)
	field("node", c.Node.Validate())
	field("auth", c.Auth.Validate())
	if err == nil {
		field("auth", c.Auth.validateFor(addr))
	}
	field("keepalive", c.Keepalive.validate())
	field("backoff", c.Backoff.validate())
	field("initial response timeout", notNegative(c.InitialResponseTimeout))
	field("resource does-not-exist timeout", notNegative(c.ResourceDoesNotExistTimeout))
	if c.ResourceLimit < 0 {
		field("resource limit", fmt.Errorf("%d is negative (0 means no limit)", c.ResourceLimit))
	}
	if c.MaxReceiveMessageSize < 0 {
		field("max receive message size", fmt.Errorf("%d is negative", c.MaxReceiveMessageSize))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
	}
	return nil
}

// validate refuses keepalive settings gRPC would silently change.
func (k Keepalive) validate() error {
	var errs []error
	if k.Time > 0 && k.Time < minKeepaliveTime {
		errs = append(errs, fmt.Errorf("time %s is below gRPC's minimum of %s", k.Time, minKeepaliveTime))
	}
	if k.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", k.Timeout))
	}
	return errors.Join(errs...)
}

func notNegative(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%s is negative", d)
	}
	return nil
}

// DialOptions validates c and returns the options for grpc.NewClient(c.Server, ...):
// credentials (Auth.DialOptions), keepalive, the connection backoff (the same schedule as
// Backoff), the receive size limit, and a user agent naming this client.
func (c AdsConfig) DialOptions() ([]grpc.DialOption, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.WithDefaults()
	opts, err := c.Auth.DialOptions(c.Server)
	if err != nil {
		return nil, fmt.Errorf("ADS server %s: auth: %w", c.Server, err)
	}
	if c.Keepalive.Time > 0 {
		opts = append(opts, grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:    c.Keepalive.Time,
			Timeout: c.Keepalive.Timeout,
		}))
	}
	node, err := c.Node.Proto()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           c.Backoff.grpcConfig(),
			MinConnectTimeout: minConnectTimeout,
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(c.MaxReceiveMessageSize)),
		grpc.WithUserAgent(node.GetUserAgentName()+"/"+node.GetUserAgentVersion()),
	)
	return opts, nil
}
