package httproute

import (
	"net"
	"slices"
	"strings"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// hostIndex finds a request's virtual host: an exact domain, else the longest wildcard
// suffix, else "*". It does one map lookup per label of the host.
type hostIndex struct {
	exact    map[string]*vhost
	suffixes map[string]*vhost // "*.example.com" filed under ".example.com"
	any      *vhost
}

func (x *hostIndex) add(domain string, vh *vhost) {
	switch {
	case domain == "*":
		if x.any == nil {
			x.any = vh
		}
	case strings.HasPrefix(domain, "*."):
		if _, dup := x.suffixes[domain[1:]]; !dup {
			x.suffixes[domain[1:]] = vh
		}
	default:
		if _, dup := x.exact[domain]; !dup {
			x.exact[domain] = vh
		}
	}
}

func (x *hostIndex) lookup(host string) *vhost {
	if vh, ok := x.exact[host]; ok {
		return vh
	}
	if len(x.suffixes) > 0 {
		// The leftmost dot gives the longest suffix; a wildcard needs at least one
		// label before it, so the search starts after the first character.
		for i := 1; i < len(host); i++ {
			if host[i] == '.' {
				if vh, ok := x.suffixes[host[i:]]; ok {
					return vh
				}
			}
		}
	}
	return x.any
}

// requestHost is the request's host name: lowercase, without port or trailing dot.
func requestHost(hostport string) string {
	host := hostport
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	for i := 0; i < len(host); i++ {
		if c := host[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(host)
		}
	}
	return host
}

// pathIndex narrows a virtual host's routes to those whose path could match, by the
// structure of the path: exact paths by map, prefixes by one map lookup per distinct prefix
// length, and the rest (regular expressions, no path) checked in order. Candidates are then
// tried in route order, so precedence is the table's.
type pathIndex struct {
	exact      map[string][]int32
	exactFold  map[string][]int32
	prefix     map[string][]int32
	prefixFold map[string][]int32
	lens       []int // distinct prefix lengths, longest first
	foldLens   []int
	rest       []int32
}

func newPathIndex() *pathIndex {
	return &pathIndex{exact: map[string][]int32{}, exactFold: map[string][]int32{}, prefix: map[string][]int32{}, prefixFold: map[string][]int32{}}
}

func (x *pathIndex) add(i int32, m *matcher) {
	p := m.path
	switch {
	case p == nil || p.Kind == table.PathRegex || (p.Kind != table.PathExact && m.prefix == ""):
		x.rest = append(x.rest, i)
	case p.Kind == table.PathExact && p.IgnoreCase:
		k := strings.ToLower(p.Value)
		x.exactFold[k] = append(x.exactFold[k], i)
	case p.Kind == table.PathExact:
		x.exact[p.Value] = append(x.exact[p.Value], i)
	case p.IgnoreCase:
		k := strings.ToLower(m.prefix)
		x.prefixFold[k] = append(x.prefixFold[k], i)
		x.foldLens = addLen(x.foldLens, len(k))
	default:
		x.prefix[m.prefix] = append(x.prefix[m.prefix], i)
		x.lens = addLen(x.lens, len(m.prefix))
	}
}

func addLen(lens []int, n int) []int {
	if slices.Contains(lens, n) {
		return lens
	}
	lens = append(lens, n)
	slices.SortFunc(lens, func(a, b int) int { return b - a })
	return lens
}

// candidates appends the indexes of the routes whose path may match, unsorted.
func (x *pathIndex) candidates(path string, out []int32) []int32 {
	out = append(out, x.exact[path]...)
	for _, n := range x.lens {
		if n <= len(path) {
			out = append(out, x.prefix[path[:n]]...)
		}
	}
	if len(x.exactFold) > 0 || len(x.prefixFold) > 0 {
		lower := strings.ToLower(path)
		out = append(out, x.exactFold[lower]...)
		for _, n := range x.foldLens {
			if n <= len(lower) {
				out = append(out, x.prefixFold[lower[:n]]...)
			}
		}
	}
	return append(out, x.rest...)
}
