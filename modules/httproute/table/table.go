// Package table is the compiled route model that both inputs of the HTTP router translate
// into: Gateway API HTTPRoutes (package gatewayapi) and Envoy RouteConfigurations (package
// envoyroute). The router (mesh_router, and the Gateway controller's listeners) serves it;
// the control plane will serve the same model back out as RouteConfiguration.
//
// It is plain data: no Caddy runtime state, no compiled regexps, no pointers into the
// collections it came from. Every type marshals to JSON, which is what the golden tests
// compare and what the admin API shows. The runtime builds its index and compiles its
// handlers from a Table; two equal Tables serve identically.
package table

import "time"

// Table is a compiled set of routes: one per Gateway port, per RouteConfiguration, or per
// mesh_router.
type Table struct {
	// Name identifies the table in logs and the admin API: "gateway ns/name:80" or a
	// RouteConfiguration's name.
	Name string `json:"name"`
	// VirtualHosts in no particular order; the runtime indexes them by domain.
	VirtualHosts []*VirtualHost `json:"virtual_hosts,omitempty"`
	// Clusters are the upstream sets the routes forward and mirror to, by name.
	Clusters map[string]*Cluster `json:"clusters,omitempty"`
}

// VirtualHost is the routes served for a set of domains.
type VirtualHost struct {
	// Name identifies the virtual host in logs.
	Name string `json:"name"`
	// Domains are lowercase host names without a port: exact ("example.com"), a leading
	// wildcard ("*.example.com", which matches one or more labels, never the bare
	// "example.com"), or "*" for any host. A host matches the most specific domain of
	// all virtual hosts: exact, then the longest wildcard suffix, then "*".
	Domains []string `json:"domains"`
	// Routes in precedence order: the first whose match holds serves the request.
	Routes []*Route `json:"routes,omitempty"`
	// RequestHeaders and ResponseHeaders apply to every route's request and response,
	// after (request) or before (response) the route's own.
	RequestHeaders  *HeaderOps `json:"request_headers,omitempty"`
	ResponseHeaders *HeaderOps `json:"response_headers,omitempty"`
}

// Route is one match and what to do with the requests it matches.
type Route struct {
	// Name identifies the route in logs: "httproute ns/name rule 0 match 1".
	Name string `json:"name"`
	// Match decides which requests the route takes.
	Match Match `json:"match"`

	// RequestHeaders and ResponseHeaders modify the request before it is forwarded and
	// the response before it is written.
	RequestHeaders  *HeaderOps `json:"request_headers,omitempty"`
	ResponseHeaders *HeaderOps `json:"response_headers,omitempty"`
	// CORS answers preflight requests and adds CORS headers to responses.
	CORS *CORS `json:"cors,omitempty"`
	// Mirrors receive a copy of the request, whose response is discarded.
	Mirrors []*Mirror `json:"mirrors,omitempty"`
	// Extensions are Caddy HTTP handlers, as their JSON (with the "handler" key), run in
	// order before the action: the ExtensionRef hook.
	Extensions []RawHandler `json:"extensions,omitempty"`

	// Exactly one action is set.
	Forward        *Forward        `json:"forward,omitempty"`
	Redirect       *Redirect       `json:"redirect,omitempty"`
	DirectResponse *DirectResponse `json:"direct_response,omitempty"`
}

// RawHandler is a Caddy HTTP handler's JSON, such as {"handler":"headers",...}.
type RawHandler []byte

// MarshalJSON writes the handler's JSON as is.
func (h RawHandler) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	return h, nil
}

// UnmarshalJSON keeps a copy of the JSON.
func (h *RawHandler) UnmarshalJSON(b []byte) error {
	*h = append((*h)[:0], b...)
	return nil
}

// Match is every condition a request must meet. Empty fields match anything.
type Match struct {
	// Path matches the request's path (without the query). Nil matches any path.
	Path *PathMatch `json:"path,omitempty"`
	// Method matches the request method exactly ("GET"). Empty matches any.
	Method string `json:"method,omitempty"`
	// Headers must all hold.
	Headers []StringMatch `json:"headers,omitempty"`
	// Query parameters must all hold; a parameter given twice is matched by its first
	// value, as the Gateway API asks.
	Query []StringMatch `json:"query,omitempty"`
	// Fraction, if set, matches only that share of requests (Envoy's runtime_fraction):
	// Numerator out of Denominator (100, 10,000 or 1,000,000).
	Fraction *Fraction `json:"fraction,omitempty"`
}

// PathKind is how a path is matched.
type PathKind string

// The path match kinds.
const (
	// PathExact matches the whole path.
	PathExact PathKind = "exact"
	// PathPrefix matches a string prefix (Envoy's prefix).
	PathPrefix PathKind = "prefix"
	// PathSegmentPrefix matches whole path segments: "/foo" matches "/foo" and
	// "/foo/bar" but not "/foobar". A trailing "/" in Value is ignored. (Gateway API's
	// PathPrefix; Envoy's path_separated_prefix.)
	PathSegmentPrefix PathKind = "segment_prefix"
	// PathRegex matches the whole path with an RE2 regular expression.
	PathRegex PathKind = "regex"
)

// PathMatch matches a request path.
type PathMatch struct {
	Kind  PathKind `json:"kind"`
	Value string   `json:"value"`
	// IgnoreCase matches without regard to ASCII case (Envoy's case_sensitive: false).
	IgnoreCase bool `json:"ignore_case,omitempty"`
}

// StringKind is how a header or query value is matched.
type StringKind string

// The string match kinds.
const (
	StringExact    StringKind = "exact"
	StringPrefix   StringKind = "prefix"
	StringSuffix   StringKind = "suffix"
	StringContains StringKind = "contains"
	StringRegex    StringKind = "regex"   // RE2, the whole value
	StringPresent  StringKind = "present" // the header or parameter is present, any value
)

// StringMatch matches one header (name case-insensitive) or query parameter (name exact).
// For a header given more than once, the values are joined with "," first.
type StringMatch struct {
	Name       string     `json:"name"`
	Kind       StringKind `json:"kind"`
	Value      string     `json:"value,omitempty"`
	IgnoreCase bool       `json:"ignore_case,omitempty"`
	// Invert negates the match: it holds when the value does not match, or (for
	// "present") when the header is absent.
	Invert bool `json:"invert,omitempty"`
}

// Fraction is Numerator out of Denominator.
type Fraction struct {
	Numerator   uint32 `json:"numerator"`
	Denominator uint32 `json:"denominator"`
}

// HeaderOps modify a header set, in the order: remove, set, add.
type HeaderOps struct {
	// Set replaces the header's values.
	Set []Header `json:"set,omitempty"`
	// Add appends a value, keeping the existing ones.
	Add []Header `json:"add,omitempty"`
	// Remove deletes headers by name.
	Remove []string `json:"remove,omitempty"`
}

// Header is one header name and value.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Forward proxies the request to one of the backends.
type Forward struct {
	// Backends are chosen at random by weight for each request.
	Backends []*Backend `json:"backends"`
	// Rewrite changes the request before it is forwarded.
	Rewrite *Rewrite `json:"rewrite,omitempty"`
	// Timeout bounds the whole request, retries included; zero is none. (Gateway API's
	// timeouts.request; Envoy's route timeout.)
	Timeout time.Duration `json:"timeout,omitempty"`
	// BackendTimeout bounds each try; zero is none. (Gateway API's
	// timeouts.backendRequest; Envoy's per_try_timeout.)
	BackendTimeout time.Duration `json:"backend_timeout,omitempty"`
	// Retry retries failed tries.
	Retry *Retry `json:"retry,omitempty"`
}

// Backend is one weighted destination of a Forward.
type Backend struct {
	// Cluster names the upstream set in Table.Clusters. Empty with Invalid set.
	Cluster string `json:"cluster,omitempty"`
	// Weight is the backend's share among its Forward's backends; 0 never receives.
	Weight uint32 `json:"weight"`
	// Invalid, when set, says why this backend cannot be reached (a Service that does not
	// exist, a reference not permitted): requests that pick it are answered 500, as the
	// Gateway API requires, while the others still go through.
	Invalid string `json:"invalid,omitempty"`
	// RequestHeaders and ResponseHeaders apply only when this backend is picked.
	RequestHeaders *HeaderOps `json:"request_headers,omitempty"`
	// ResponseHeaders apply to responses from this backend.
	ResponseHeaders *HeaderOps `json:"response_headers,omitempty"`
}

// Rewrite changes the forwarded request's host or path. At most one path rewrite is set.
type Rewrite struct {
	// Host replaces the Host header.
	Host string `json:"host,omitempty"`
	// FullPath replaces the whole path.
	FullPath *string `json:"full_path,omitempty"`
	// PrefixReplacement replaces the part of the path the route's prefix (or segment
	// prefix) match matched.
	PrefixReplacement *string `json:"prefix_replacement,omitempty"`
	// Regex replaces every match of Pattern in the path with Substitution (RE2; "\1"
	// style groups, as Envoy's regex_rewrite).
	Regex *RegexRewrite `json:"regex,omitempty"`
}

// RegexRewrite is a regular-expression path rewrite.
type RegexRewrite struct {
	Pattern      string `json:"pattern"`
	Substitution string `json:"substitution"`
}

// Retry retries a request whose try failed.
type Retry struct {
	// On lists Envoy's retry_on conditions: "5xx", "gateway-error", "connect-failure",
	// "reset", "retriable-4xx", "retriable-status-codes", "refused-stream".
	On []string `json:"on"`
	// StatusCodes are retried for "retriable-status-codes".
	StatusCodes []int `json:"status_codes,omitempty"`
	// NumRetries is how many retries after the first try.
	NumRetries int `json:"num_retries"`
}

// Mirror sends a copy of a share of requests to a cluster.
type Mirror struct {
	// Cluster names the upstream set in Table.Clusters.
	Cluster string `json:"cluster"`
	// Fraction is the share of requests mirrored; nil mirrors all.
	Fraction *Fraction `json:"fraction,omitempty"`
}

// Redirect answers with a redirect built from the request.
type Redirect struct {
	// Scheme replaces the scheme ("http", "https").
	Scheme string `json:"scheme,omitempty"`
	// Host replaces the host name.
	Host string `json:"host,omitempty"`
	// Port replaces the port; 0 keeps the listener's port, which is then left out of
	// the Location when it is the scheme's default.
	Port int `json:"port,omitempty"`
	// FullPath replaces the whole path; PrefixReplacement replaces the matched prefix.
	FullPath          *string `json:"full_path,omitempty"`
	PrefixReplacement *string `json:"prefix_replacement,omitempty"`
	// StripQuery drops the query string.
	StripQuery bool `json:"strip_query,omitempty"`
	// StatusCode is 301, 302, 303, 307 or 308; 0 means 302.
	StatusCode int `json:"status_code,omitempty"`
}

// DirectResponse answers with a fixed status and body.
type DirectResponse struct {
	Status int    `json:"status"`
	Body   string `json:"body,omitempty"`
}

// CORS is a cross-origin resource sharing policy.
type CORS struct {
	// AllowOrigins are origins ("https://example.com"), with "*" for any and
	// "https://*.example.com" wildcards.
	AllowOrigins     []string `json:"allow_origins,omitempty"`
	AllowMethods     []string `json:"allow_methods,omitempty"`
	AllowHeaders     []string `json:"allow_headers,omitempty"`
	ExposeHeaders    []string `json:"expose_headers,omitempty"`
	AllowCredentials bool     `json:"allow_credentials,omitempty"`
	// MaxAge is how long a preflight answer may be cached, in seconds; 0 leaves the
	// header out.
	MaxAge int `json:"max_age,omitempty"`
}

// ClusterKind says where a cluster's endpoints come from.
type ClusterKind string

// The cluster kinds.
const (
	// ClusterService is a Kubernetes Service's port: its ready endpoints from the
	// EndpointSlices labelled kubernetes.io/service-name.
	ClusterService ClusterKind = "service"
	// ClusterEDS is an Envoy cluster: its endpoints from the ClusterLoadAssignment of
	// the same name (or ServiceName).
	ClusterEDS ClusterKind = "eds"
	// ClusterStatic is a fixed list of addresses (Envoy STATIC and STRICT_DNS clusters).
	ClusterStatic ClusterKind = "static"
)

// Cluster is a set of upstream endpoints and how to balance across them.
type Cluster struct {
	Kind ClusterKind `json:"kind"`
	// Service is set for ClusterService.
	Service *ServicePort `json:"service,omitempty"`
	// EDSName is the ClusterLoadAssignment's name, for ClusterEDS.
	EDSName string `json:"eds_name,omitempty"`
	// Addresses are "host:port" dial addresses, for ClusterStatic.
	Addresses []string `json:"addresses,omitempty"`
	// LB is the load-balancing policy; empty is round robin.
	LB LBPolicy `json:"lb,omitempty"`
	// HashOn is what the consistent hash (LBHash) hashes: a header name, or "" for the
	// client IP.
	HashOn string `json:"hash_on,omitempty"`
	// ConnectTimeout bounds dialing an endpoint; zero is the runtime's default.
	ConnectTimeout time.Duration `json:"connect_timeout,omitempty"`
	// H2C speaks HTTP/2 over cleartext to the endpoints (appProtocol kubernetes.io/h2c,
	// or an Envoy cluster with http2_protocol_options).
	H2C bool `json:"h2c,omitempty"`
}

// ServicePort is a Kubernetes Service's port.
type ServicePort struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Port is the Service's port number; the runtime maps it to the EndpointSlices' port
	// through PortName (EndpointSlice ports carry the Service port's name).
	Port     int32  `json:"port"`
	PortName string `json:"port_name,omitempty"`
}

// LBPolicy is a load-balancing policy.
type LBPolicy string

// The load-balancing policies, with the Caddy selection policy each maps to.
const (
	LBRoundRobin   LBPolicy = "round_robin" // Caddy round_robin
	LBLeastRequest LBPolicy = "least_conn"  // Caddy least_conn
	LBRandom       LBPolicy = "random"      // Caddy random
	LBHash         LBPolicy = "hash"        // Caddy header or ip_hash (RingHash, Maglev)
)

// IsEmpty reports whether the operations change nothing; nil is empty.
func (ops *HeaderOps) IsEmpty() bool {
	return ops == nil || (len(ops.Set) == 0 && len(ops.Add) == 0 && len(ops.Remove) == 0)
}
