package xds

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ErrMalformedName is wrapped by every error ParseResourceName and NewXDSTPName return, so
// callers can tell a bad name from other failures with errors.Is.
var ErrMalformedName = errors.New("malformed resource name")

// xdstpPrefix starts every xdstp:// name. The scheme is matched case-sensitively, as
// Envoy does: "XDSTP://..." is an ordinary (opaque) name.
const xdstpPrefix = "xdstp://"

// Wildcard is the plain name that subscribes to every resource of a type, per the xDS
// protocol's explicit wildcard subscription.
const Wildcard = "*"

// ResourceName is the name of an xDS resource: either a plain, opaque name such as
// "outbound|80||web.default.svc" or an xdstp:// name (xDS federation, gRFC A47, and the xDS
// naming proposal TP1):
//
//	xdstp://[authority]/<resource type>/<id>[?<context params>]
//
// where the resource type is a full protobuf message name
// (envoy.config.cluster.v3.Cluster), the id is opaque and may contain '/', and the context
// params select a variant of the resource. An id whose last segment is "*" names a glob
// collection: every resource of the type directly under that path.
//
// A ResourceName is a comparable value: two names that differ only in spelling (the order
// of context params, percent-encoding) are ==, so a ResourceName can key a map of
// subscriptions. The zero value is no name at all. Processing directives (#alt=..., which
// only resource locators carry) are not part of a resource name and are refused.
type ResourceName struct {
	xdstp     bool
	authority string // decoded
	typ       string // full protobuf message name
	id        string // decoded; the whole name when !xdstp
	params    string // the canonical (sorted, encoded) query, without '?'
}

// ParseResourceName parses a plain or xdstp:// name. A plain name is any non-empty string
// not starting with "xdstp:"; it is kept byte for byte. An xdstp:// name is decoded
// component by component:
//
//   - the authority may be empty ("xdstp:///type/id");
//   - the resource type must be a valid full protobuf message name;
//   - the id must not be empty; its '/' separate segments and are kept, and it is not
//     dot-segment normalised (the id is opaque to clients);
//   - context params are key=value pairs separated by '&'; a key must not be empty or
//     repeated, a missing '=' means an empty value, and '+' is a plus sign, not a space;
//   - %XX is decoded everywhere, and a stray '%' is an error. The id is one opaque string
//     whose '/' are printed raw, so "x%2Fy" is the id "x/y", and a final "/%2A" makes a
//     glob just as "/*" does.
func ParseResourceName(s string) (ResourceName, error) {
	if s == "" {
		return ResourceName{}, fmt.Errorf("%w: empty", ErrMalformedName)
	}
	if !strings.HasPrefix(s, "xdstp:") {
		return ResourceName{id: s}, nil
	}
	n, err := parseXDSTP(s)
	if err != nil {
		return ResourceName{}, fmt.Errorf("%w %q: %w", ErrMalformedName, s, err)
	}
	return n, nil
}

// MustParseResourceName is ParseResourceName for names fixed in the program's source; it
// panics on a malformed one, which is a programming error.
func MustParseResourceName(s string) ResourceName {
	n, err := ParseResourceName(s)
	if err != nil {
		panic(err)
	}
	return n
}

// NewXDSTPName builds an xdstp:// name from its decoded parts, for callers that compute
// names (from a template, say) and would otherwise have to get the percent-encoding right
// themselves. An id ending in "/*" (or equal to "*") makes a glob collection.
func NewXDSTPName(authority string, typ TypeURL, id string, params map[string]string) (ResourceName, error) {
	if err := typ.Validate(); err != nil {
		return ResourceName{}, fmt.Errorf("%w: %w", ErrMalformedName, err)
	}
	if id == "" {
		return ResourceName{}, fmt.Errorf("%w: xdstp name of type %s: empty id", ErrMalformedName, typ)
	}
	keys := slices.Sorted(maps.Keys(params))
	if len(keys) > 0 && keys[0] == "" {
		return ResourceName{}, fmt.Errorf("%w: xdstp name of type %s: empty context param key", ErrMalformedName, typ)
	}
	return ResourceName{
		xdstp:     true,
		authority: authority,
		typ:       typ.MessageName(),
		id:        id,
		params:    encodeParams(keys, params),
	}, nil
}

// parseXDSTP splits an xdstp:// name into its components and decodes each.
func parseXDSTP(s string) (ResourceName, error) {
	rest, ok := strings.CutPrefix(s, xdstpPrefix)
	if !ok {
		return ResourceName{}, fmt.Errorf(`the xdstp scheme must be followed by "//"`)
	}
	if strings.ContainsRune(rest, '#') {
		return ResourceName{}, fmt.Errorf("processing directives (#...) belong to resource locators, not names")
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	rawAuthority, path, ok := strings.Cut(rest, "/")
	if !ok {
		return ResourceName{}, fmt.Errorf("missing resource type after the authority")
	}
	authority, err := unescape(rawAuthority)
	if err != nil {
		return ResourceName{}, fmt.Errorf("authority: %w", err)
	}
	rawType, rawID, _ := strings.Cut(path, "/")
	typ, err := unescape(rawType)
	if err != nil {
		return ResourceName{}, fmt.Errorf("resource type: %w", err)
	}
	if err := validateMessageName(typ); err != nil {
		return ResourceName{}, fmt.Errorf("resource type: %w", err)
	}
	id, err := unescape(rawID)
	if err != nil {
		return ResourceName{}, fmt.Errorf("id: %w", err)
	}
	if id == "" {
		return ResourceName{}, fmt.Errorf("missing id after the resource type")
	}
	params, err := parseParams(rawQuery)
	if err != nil {
		return ResourceName{}, fmt.Errorf("context params: %w", err)
	}
	keys := slices.Sorted(maps.Keys(params))
	return ResourceName{xdstp: true, authority: authority, typ: typ, id: id, params: encodeParams(keys, params)}, nil
}

// parseParams decodes a query into context params. Empty pieces ("a=1&&b=2", a bare "?")
// carry nothing and are skipped; a repeated key is refused because a name is a cache key
// and "which value wins" has no answer the server would share.
func parseParams(q string) (map[string]string, error) {
	if q == "" {
		return nil, nil
	}
	params := make(map[string]string)
	for piece := range strings.SplitSeq(q, "&") {
		if piece == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(piece, "=")
		key, err := unescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", rawKey, err)
		}
		if key == "" {
			return nil, fmt.Errorf("empty key in %q", piece)
		}
		value, err := unescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("value of %q: %w", key, err)
		}
		if _, dup := params[key]; dup {
			return nil, fmt.Errorf("key %q given twice", key)
		}
		params[key] = value
	}
	return params, nil
}

// encodeParams prints params in the given (sorted) key order: the canonical query.
func encodeParams(keys []string, params map[string]string) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escape(k, inQuery))
		b.WriteByte('=')
		b.WriteString(escape(params[k], inQuery))
	}
	return b.String()
}

// String returns the canonical form of the name: a plain name as it was given; an xdstp://
// name with its context params sorted by key and exactly the bytes each component cannot
// hold raw percent-encoded. This is the form sent to the server, and
// ParseResourceName(n.String()) == n for every name that parsed.
func (n ResourceName) String() string {
	if !n.xdstp {
		return n.id
	}
	var b strings.Builder
	b.WriteString(xdstpPrefix)
	b.WriteString(escape(n.authority, inAuthority))
	b.WriteByte('/')
	b.WriteString(n.typ)
	b.WriteByte('/')
	b.WriteString(escape(n.id, inPath))
	if n.params != "" {
		b.WriteByte('?')
		b.WriteString(n.params)
	}
	return b.String()
}

// MarshalText returns the canonical form, so that names in JSON configs and status output
// read as the strings people write.
func (n ResourceName) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText parses text with ParseResourceName, so that a malformed name in a JSON
// config is refused when the config is loaded.
func (n *ResourceName) UnmarshalText(text []byte) error {
	parsed, err := ParseResourceName(string(text))
	if err != nil {
		return err
	}
	*n = parsed
	return nil
}

// IsZero reports whether n is the zero ResourceName, which names nothing.
func (n ResourceName) IsZero() bool { return n == ResourceName{} }

// IsXDSTP reports whether n is an xdstp:// name, whose authority, type and context params
// the client may rely on; a plain name is opaque.
func (n ResourceName) IsXDSTP() bool { return n.xdstp }

// IsWildcard reports whether n is the plain name "*", the explicit wildcard subscription.
func (n ResourceName) IsWildcard() bool { return !n.xdstp && n.id == Wildcard }

// IsGlob reports whether n is an xdstp:// glob collection (its id is "*" or ends in "/*"),
// which the server answers with every resource directly under that path.
func (n ResourceName) IsGlob() bool {
	return n.xdstp && (n.id == "*" || strings.HasSuffix(n.id, "/*"))
}

// Authority returns the decoded authority of an xdstp:// name ("" for plain names, and for
// xdstp:// names with an empty authority).
func (n ResourceName) Authority() string { return n.authority }

// Type returns the type URL of an xdstp:// name, built from its resource type segment, or
// "" for a plain name, whose type only the subscription knows.
func (n ResourceName) Type() TypeURL {
	if !n.xdstp {
		return ""
	}
	return TypeURL(TypeURLPrefix + n.typ)
}

// ID returns the decoded id of an xdstp:// name (with its "/*" if it is a glob), or the
// whole name if it is plain.
func (n ResourceName) ID() string { return n.id }

// ContextParams returns a new map of the decoded context params of an xdstp:// name, or
// nil when it has none.
func (n ResourceName) ContextParams() map[string]string {
	params, err := parseParams(n.params)
	if err != nil {
		// n.params was produced by encodeParams, which parseParams always accepts.
		panic(fmt.Sprintf("xds: corrupt canonical context params %q: %v", n.params, err))
	}
	if len(params) == 0 {
		return nil
	}
	return params
}

// GlobCollection returns the glob collection n belongs to: the same authority, type and
// context params, with the last segment of the id replaced by "*"
// (xdstp://a/T/listeners/web → xdstp://a/T/listeners/*; an id without '/' belongs to
// xdstp://a/T/*). A client uses it to route a resource the server sent to the glob
// subscription that asked for it, as Envoy does. It reports false for plain names and for
// globs themselves.
func (n ResourceName) GlobCollection() (ResourceName, bool) {
	if !n.xdstp || n.IsGlob() {
		return ResourceName{}, false
	}
	c := n
	if i := strings.LastIndexByte(n.id, '/'); i >= 0 {
		c.id = n.id[:i+1] + "*"
	} else {
		c.id = "*"
	}
	return c, true
}
