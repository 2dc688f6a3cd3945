package resource

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// UpstreamProtocol is the HTTP protocol a cluster speaks to its hosts.
type UpstreamProtocol uint8

// The upstream protocols.
const (
	// ProtocolHTTP1 is HTTP/1.1, Envoy's default.
	ProtocolHTTP1 UpstreamProtocol = iota + 1
	// ProtocolHTTP2 is HTTP/2 (h2, or h2c without TLS).
	ProtocolHTTP2
	// ProtocolHTTP3 is HTTP/3.
	ProtocolHTTP3
	// ProtocolAuto negotiates HTTP/2 or HTTP/1.1 by ALPN.
	ProtocolAuto
	// ProtocolDownstream uses whatever the downstream request used.
	ProtocolDownstream
)

var upstreamProtocolNames = []string{"", "HTTP1", "HTTP2", "HTTP3", "Auto", "Downstream"}

// String returns the protocol's name.
func (p UpstreamProtocol) String() string { return enumString(upstreamProtocolNames, int(p)) }

// MarshalText makes JSON show the protocol's name.
func (p UpstreamProtocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// HTTP2Options are the HTTP/2 settings for a cluster's connections. Zero values mean
// Envoy's defaults.
type HTTP2Options struct {
	// MaxConcurrentStreams bounds the streams per connection.
	MaxConcurrentStreams uint32
	// InitialStreamWindowSize is the flow control window of each stream, in bytes.
	InitialStreamWindowSize uint32
	// InitialConnectionWindowSize is the flow control window of each connection, in
	// bytes.
	InitialConnectionWindowSize uint32
	// AllowConnect accepts extended CONNECT (WebSocket over HTTP/2).
	AllowConnect bool
}

// httpProtocolOptionsKey is the typed_extension_protocol_options key under which Envoy
// reads a cluster's upstream HTTP options: the name of their message.
var httpProtocolOptionsKey = string(fullName(&httpv3.HttpProtocolOptions{}))

// buildHTTPProtocol sets the cluster's upstream protocol from
// typed_extension_protocol_options, or from the deprecated http2_protocol_options and
// protocol_selection that older control planes still send.
func buildHTTPProtocol(ps *problems, m *clusterv3.Cluster, out *Cluster) {
	out.UpstreamProtocol = ProtocolHTTP1
	if a, ok := m.GetTypedExtensionProtocolOptions()[httpProtocolOptionsKey]; ok {
		topts := rootPath("typed_extension_protocol_options")
		at := topts.entry(httpProtocolOptionsKey)
		opts := new(httpv3.HttpProtocolOptions)
		if !holds(a, opts) {
			ps.addf(&at, "holds %s, not %s", messageName(a.GetTypeUrl()), httpProtocolOptionsKey)
			return
		}
		if unpackNested(ps, &at, a, opts) {
			out.UpstreamProtocol, out.HTTP2 = upstreamProtocol(opts)
		}
		return
	}
	if h2 := m.GetHttp2ProtocolOptions(); h2 != nil {
		out.UpstreamProtocol, out.HTTP2 = ProtocolHTTP2, http2Options(h2)
		if m.GetProtocolSelection() == clusterv3.Cluster_USE_DOWNSTREAM_PROTOCOL {
			out.UpstreamProtocol = ProtocolDownstream
		}
	}
}

// upstreamProtocol reads the protocol and HTTP/2 settings of HttpProtocolOptions.
func upstreamProtocol(opts *httpv3.HttpProtocolOptions) (UpstreamProtocol, *HTTP2Options) {
	switch p := opts.GetUpstreamProtocolOptions().(type) {
	case *httpv3.HttpProtocolOptions_ExplicitHttpConfig_:
		explicit := p.ExplicitHttpConfig
		switch {
		case explicit.GetHttp2ProtocolOptions() != nil:
			return ProtocolHTTP2, http2Options(explicit.GetHttp2ProtocolOptions())
		case explicit.GetHttp3ProtocolOptions() != nil:
			return ProtocolHTTP3, nil
		}
	case *httpv3.HttpProtocolOptions_UseDownstreamProtocolConfig:
		return ProtocolDownstream, http2Options(p.UseDownstreamProtocolConfig.GetHttp2ProtocolOptions())
	case *httpv3.HttpProtocolOptions_AutoConfig:
		return ProtocolAuto, http2Options(p.AutoConfig.GetHttp2ProtocolOptions())
	}
	return ProtocolHTTP1, nil
}

// http2Options flattens HTTP/2 settings; absent settings are Envoy's defaults, which is
// still HTTP/2.
func http2Options(h2 *corev3.Http2ProtocolOptions) *HTTP2Options {
	return &HTTP2Options{
		MaxConcurrentStreams:        h2.GetMaxConcurrentStreams().GetValue(),
		InitialStreamWindowSize:     h2.GetInitialStreamWindowSize().GetValue(),
		InitialConnectionWindowSize: h2.GetInitialConnectionWindowSize().GetValue(),
		AllowConnect:                h2.GetAllowConnect(),
	}
}
