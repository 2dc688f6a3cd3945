package resource

import (
	"encoding/json"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Listener is an LDS resource: where to accept connections and the filter chains that
// handle them. A listener for proxyless clients (an API listener) has no address and
// carries its HTTP connection manager in APIListener instead.
type Listener struct {
	meta
	// Address is where to listen; Kind is AddressNone only for API and internal
	// listeners.
	Address Address
	// AdditionalAddresses are further addresses sharing the filter chains.
	AdditionalAddresses []Address
	// FilterChains are chosen among by their Match, most specific first.
	FilterChains []FilterChain
	// DefaultFilterChain handles connections no filter chain matches; nil when absent,
	// and such connections are closed.
	DefaultFilterChain *FilterChain
	// ListenerFilters run before a filter chain is chosen (TLS inspector, original
	// destination, proxy protocol).
	ListenerFilters []Extension
	// APIListener is the HTTP connection manager of an API listener, as proxyless gRPC
	// clients use; nil otherwise.
	APIListener *HTTPConnectionManager
	// Internal is set for an internal listener, reached in process rather than on a
	// socket.
	Internal bool
}

// MarshalJSON shows the view's fields with its name and type URL, for the admin API and
// logs. The proto and raw bytes are left out.
func (l *Listener) MarshalJSON() ([]byte, error) {
	type fields Listener
	return json.Marshal(struct {
		Name, TypeURL string
		*fields
	}{l.name, l.typeURL, (*fields)(l)})
}

// Proto returns the decoded proto.
func (l *Listener) Proto() proto.Message { return l.msg }

// Message returns the decoded proto, typed. It may hold private keys: do not log it, and
// do not modify it.
func (l *Listener) Message() *listenerv3.Listener { return l.msg.(*listenerv3.Listener) }

// RouteConfigNames lists the RDS route configurations the listener's HTTP connection
// managers refer to, each once, in the order found: what an ADS client subscribes to after
// accepting the listener.
func (l *Listener) RouteConfigNames() []string {
	var names []string
	add := func(h *HTTPConnectionManager) {
		if h == nil || h.RouteConfigName == "" {
			return
		}
		for _, n := range names {
			if n == h.RouteConfigName {
				return
			}
		}
		names = append(names, h.RouteConfigName)
	}
	for i := range l.FilterChains {
		for j := range l.FilterChains[i].Filters {
			add(l.FilterChains[i].Filters[j].HTTPConnectionManager)
		}
	}
	if l.DefaultFilterChain != nil {
		for j := range l.DefaultFilterChain.Filters {
			add(l.DefaultFilterChain.Filters[j].HTTPConnectionManager)
		}
	}
	add(l.APIListener)
	return names
}

// Extension is a named extension and its config, which this package passes through
// without interpreting.
type Extension struct {
	// Name is the extension's name, free text in xDS v3.
	Name string
	// TypedConfig is the extension's config; its type selects the implementation.
	TypedConfig *anypb.Any
}

// buildListener builds the view of a listener.
func buildListener(m *listenerv3.Listener, base meta, ps *problems) *Listener {
	out := &Listener{meta: base, Internal: m.GetInternalListener() != nil}
	aat := rootPath("address")
	out.Address = listenerAddress(ps, &aat, m)
	if n := len(m.GetAdditionalAddresses()); n > 0 {
		adds := rootPath("additional_addresses")
		out.AdditionalAddresses = make([]Address, n)
		for i, a := range m.GetAdditionalAddresses() {
			item := adds.item(i)
			addr := item.at("address")
			out.AdditionalAddresses[i] = socketAddress(ps, &addr, buildAddress(a.GetAddress()))
		}
	}
	chains := rootPath("filter_chains")
	out.FilterChains = make([]FilterChain, len(m.GetFilterChains()))
	for i, fc := range m.GetFilterChains() {
		cat := chains.item(i)
		out.FilterChains[i] = buildFilterChain(ps, &cat, fc)
	}
	checkDistinctMatches(ps, &chains, out.FilterChains)
	if fc := m.GetDefaultFilterChain(); fc != nil {
		dat := rootPath("default_filter_chain")
		chain := buildFilterChain(ps, &dat, fc)
		out.DefaultFilterChain = &chain
	}
	for _, lf := range m.GetListenerFilters() {
		out.ListenerFilters = append(out.ListenerFilters, Extension{Name: lf.GetName(), TypedConfig: lf.GetTypedConfig()})
	}
	if api := m.GetApiListener().GetApiListener(); api != nil {
		a := rootPath("api_listener")
		at := a.at("api_listener")
		if !holds(api, new(hcmv3.HttpConnectionManager)) {
			ps.addf(&at, "holds %s, not an HTTP connection manager", messageName(api.GetTypeUrl()))
		} else {
			out.APIListener = buildHTTPConnectionManager(ps, &at, api)
		}
	}
	return out
}

// listenerAddress converts the listener's address. Only API and internal listeners may do
// without one: any other listener would accept nothing.
func listenerAddress(ps *problems, at *path, m *listenerv3.Listener) Address {
	addr := buildAddress(m.GetAddress())
	if addr.Kind == AddressNone {
		if m.GetApiListener() == nil && m.GetInternalListener() == nil {
			ps.addf(nil, "listener has no address")
		}
		return addr
	}
	return socketAddress(ps, at, addr)
}

// socketAddress checks a listener's socket address: it must be an IP literal, since a
// listener binds rather than resolves (Envoy rejects a host name here unless a custom
// resolver is named, which this package does not support).
func socketAddress(ps *problems, at *path, addr Address) Address {
	if addr.Kind == AddressSocket && !addr.IP.IsValid() {
		ps.addf(at, "listener address %q is not an IP address", addr.Host)
	}
	return addr
}
