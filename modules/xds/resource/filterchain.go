package resource

import (
	"net/netip"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// FilterChain is one way a listener handles connections: the connections it matches, the
// TLS it terminates and the network filters they go through.
type FilterChain struct {
	// Name identifies the chain; it is optional.
	Name string
	// Match selects the connections the chain handles.
	Match FilterChainMatch
	// Filters are the network filters, in order.
	Filters []NetworkFilter
	// TransportSocket is the name of the transport socket; "" for plaintext.
	TransportSocket string
	// TLS is the downstream TLS context, when the transport socket is TLS.
	TLS *DownstreamTLSContext
	pb  *listenerv3.FilterChain
}

// Message returns the chain's proto. It may hold private keys: do not log it, and do not
// modify it.
func (f *FilterChain) Message() *listenerv3.FilterChain { return f.pb }

// Filter returns the first network filter with the given name, or nil.
func (f *FilterChain) Filter(name string) *NetworkFilter {
	for i := range f.Filters {
		if f.Filters[i].Name == name {
			return &f.Filters[i]
		}
	}
	return nil
}

// HTTPConnectionManager returns the chain's HTTP connection manager, or nil for a chain
// that does not serve HTTP. Filter names are free text in xDS v3, so it is found by the
// type of its config.
func (f *FilterChain) HTTPConnectionManager() *HTTPConnectionManager {
	for i := range f.Filters {
		if h := f.Filters[i].HTTPConnectionManager; h != nil {
			return h
		}
	}
	return nil
}

// NetworkFilter is one network filter of a chain.
type NetworkFilter struct {
	// Name is the filter's name, free text in xDS v3.
	Name string
	// TypedConfig is the filter's config; nil when it comes from extension config
	// discovery.
	TypedConfig *anypb.Any
	// HTTPConnectionManager is the decoded config, when the filter is an HTTP connection
	// manager.
	HTTPConnectionManager *HTTPConnectionManager
}

// ConnectionSourceType restricts a filter chain to local or remote clients.
type ConnectionSourceType uint8

// The connection source types.
const (
	// SourceAny matches any client.
	SourceAny ConnectionSourceType = iota
	// SourceLocal matches clients on the same IP or loopback.
	SourceLocal
	// SourceExternal matches the other clients.
	SourceExternal
)

var connectionSourceTypeNames = []string{"Any", "SameIPOrLoopback", "External"}

// String returns the type's name.
func (t ConnectionSourceType) String() string { return enumString(connectionSourceTypeNames, int(t)) }

// MarshalText makes JSON show the type's name.
func (t ConnectionSourceType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// FilterChainMatch is a filter chain's condition. Empty fields match anything.
type FilterChainMatch struct {
	// DestinationPort is the original destination port; 0 matches any.
	DestinationPort uint32
	// PrefixRanges match the original destination address.
	PrefixRanges []netip.Prefix
	// DirectSourcePrefixRanges match the address of the directly connected peer.
	DirectSourcePrefixRanges []netip.Prefix
	// SourceType matches local or remote clients.
	SourceType ConnectionSourceType
	// SourcePrefixRanges match the client address (after proxy protocol).
	SourcePrefixRanges []netip.Prefix
	// SourcePorts match the client port.
	SourcePorts []uint32
	// ServerNames match the TLS SNI, exactly or as "*.suffix" wildcards.
	ServerNames []string
	// TransportProtocol is "tls" or "raw_buffer" as detected by listener filters.
	TransportProtocol string
	// ApplicationProtocols match the ALPN protocols offered by the client.
	ApplicationProtocols []string
}

// buildFilterChain builds the view of a filter chain.
func buildFilterChain(ps *problems, at *path, fc *listenerv3.FilterChain) FilterChain {
	mat := at.at("filter_chain_match")
	out := FilterChain{
		Name:            fc.GetName(),
		Match:           buildFilterChainMatch(ps, &mat, fc.GetFilterChainMatch()),
		TransportSocket: fc.GetTransportSocket().GetName(),
		pb:              fc,
	}
	filters := at.at("filters")
	out.Filters = make([]NetworkFilter, len(fc.GetFilters()))
	for i, f := range fc.GetFilters() {
		out.Filters[i] = NetworkFilter{Name: f.GetName(), TypedConfig: f.GetTypedConfig()}
		if f.GetTypedConfig() != nil {
			item := filters.item(i)
			tat := item.at("typed_config")
			out.Filters[i].HTTPConnectionManager = buildHTTPConnectionManager(ps, &tat, f.GetTypedConfig())
		}
	}
	if ts := fc.GetTransportSocket(); ts != nil {
		tat := at.at("transport_socket")
		out.TLS = downstreamTLS(ps, &tat, ts)
	}
	return out
}

// buildFilterChainMatch flattens a filter chain match, parsing its CIDR ranges.
func buildFilterChainMatch(ps *problems, at *path, m *listenerv3.FilterChainMatch) FilterChainMatch {
	pr, dpr, spr := at.at("prefix_ranges"), at.at("direct_source_prefix_ranges"), at.at("source_prefix_ranges")
	return FilterChainMatch{
		DestinationPort:          m.GetDestinationPort().GetValue(),
		PrefixRanges:             prefixes(ps, &pr, m.GetPrefixRanges()),
		DirectSourcePrefixRanges: prefixes(ps, &dpr, m.GetDirectSourcePrefixRanges()),
		SourceType:               ConnectionSourceType(m.GetSourceType()),
		SourcePrefixRanges:       prefixes(ps, &spr, m.GetSourcePrefixRanges()),
		SourcePorts:              m.GetSourcePorts(),
		ServerNames:              m.GetServerNames(),
		TransportProtocol:        m.GetTransportProtocol(),
		ApplicationProtocols:     m.GetApplicationProtocols(),
	}
}

// prefixes parses CIDR ranges, masked as Envoy masks them ("10.1.2.3/8" is 10.0.0.0/8).
// A range that is not an IP address or whose length exceeds the address is a problem:
// Envoy rejects it rather than guess.
func prefixes(ps *problems, at *path, ranges []*corev3.CidrRange) []netip.Prefix {
	if len(ranges) == 0 {
		return nil
	}
	out := make([]netip.Prefix, 0, len(ranges))
	for i, r := range ranges {
		item := at.item(i)
		addr, err := netip.ParseAddr(r.GetAddressPrefix())
		if err != nil {
			ap := item.at("address_prefix")
			ps.addf(&ap, "%q is not an IP address", r.GetAddressPrefix())
			continue
		}
		bits := r.GetPrefixLen().GetValue()
		if bits > uint32(addr.BitLen()) {
			pl := item.at("prefix_len")
			ps.addf(&pl, "prefix length %d exceeds the %d bits of %s", bits, addr.BitLen(), addr)
			continue
		}
		p, err := addr.Prefix(int(bits))
		if err != nil {
			ps.addf(&item, "%v", err)
			continue
		}
		out = append(out, p)
	}
	return out
}
