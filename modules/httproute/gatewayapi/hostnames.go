package gatewayapi

import (
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Host names here are "domains" in the table's sense: lowercase, an exact name
// ("foo.example.com"), a wildcard ("*.example.com": one or more labels in front of
// example.com, never example.com itself), or anyDomain for every name. A listener without
// a hostname is anyDomain.
const anyDomain = "*"

// listenerDomain is a listener's hostname as a domain.
func listenerDomain(h *gatewayv1.Hostname) string {
	if h == nil || *h == "" {
		return anyDomain
	}
	return strings.ToLower(string(*h))
}

// isWildcard reports whether d is a "*.suffix" domain.
func isWildcard(d string) bool { return strings.HasPrefix(d, "*.") }

// intersect is the set of names both a listener's domain and a route's hostname match, as
// the Gateway API's hostname rules define it: the more specific of the two when one
// contains the other, nothing when they are disjoint. (Two domains of this form either are
// disjoint or one contains the other, so the intersection is always one domain.)
func intersect(listener, route string) (string, bool) {
	switch {
	case contains(listener, route):
		return route, true
	case contains(route, listener):
		return listener, true
	}
	return "", false
}

// contains reports whether every name inner matches is also matched by outer.
func contains(outer, inner string) bool {
	switch {
	case outer == inner, outer == anyDomain:
		return true
	case inner == anyDomain, !isWildcard(outer):
		return false
	}
	// outer is "*.s": inner must end in ".s" with at least one more label in front. A
	// wildcard inner "*.t.s" qualifies as well, since every name it matches does.
	suffix := outer[1:] // ".s"
	return len(inner) > len(suffix) && strings.HasSuffix(inner, suffix)
}

// ancestors lists d and then every domain that contains it, most specific first: for
// "a.b.c" that is "a.b.c", "*.b.c", "*.c", "*". That order is the Gateway API's hostname
// precedence (exact, then the wildcard with the longest suffix, then any name), so the
// first ancestor that is a listener's hostname is the listener that serves d's names.
func ancestors(d string) []string {
	if d == anyDomain {
		return []string{anyDomain}
	}
	out := make([]string, 0, strings.Count(d, ".")+2)
	out = append(out, d)
	rest := d
	if isWildcard(d) {
		rest = d[2:]
	}
	for {
		dot := strings.IndexByte(rest, '.')
		if dot < 0 {
			break
		}
		rest = rest[dot+1:]
		out = append(out, "*."+rest)
	}
	return append(out, anyDomain)
}

// hostnameLess orders listener hostnames for certificate selection: exact names first,
// then wildcards with longer suffixes, then the listener without a hostname.
func hostnameLess(a, b string) bool {
	ra, rb := hostnameRank(a), hostnameRank(b)
	if ra != rb {
		return ra < rb
	}
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a < b
}

func hostnameRank(h string) int {
	switch {
	case h == "" || h == anyDomain:
		return 2
	case isWildcard(h):
		return 1
	}
	return 0
}
