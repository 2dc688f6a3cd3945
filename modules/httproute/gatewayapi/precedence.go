package gatewayapi

import (
	"cmp"
	"time"
)

// Path kinds in precedence order.
//
// The Gateway API orders Exact before PathPrefix and leaves RegularExpression to the
// implementation. Regular expressions go between the two: a regex is a deliberate,
// specific match, and putting it after every prefix would let a catch-all PathPrefix "/"
// on the same host shadow every regex route. Among regexes a longer pattern goes first, as
// a rough stand-in for specificity.
const (
	rankExact = iota
	rankRegex
	rankPrefix
)

// precedence is everything the Gateway API orders route matches by, for one match of one
// rule of one route. Host name specificity comes before all of it; that is applied when
// virtual hosts are assembled (see tables.go).
type precedence struct {
	pathRank int
	pathLen  int // characters of the path value
	method   bool
	headers  int
	queries  int
	created  time.Time
	route    string // "namespace/name"
	rule     int
	match    int
}

// compareEntries orders table routes by precedence.
func compareEntries(a, b *entry) int { return comparePrecedence(&a.prec, &b.prec) }

// comparePrecedence orders a before b when a's match takes precedence:
//
//   - an Exact path, then a RegularExpression path, then a PathPrefix path;
//   - among paths of one kind, the longer value;
//   - a match with a method;
//   - more header matches;
//   - more query parameter matches;
//   - the older route (creationTimestamp);
//   - the route first by "namespace/name";
//   - the earlier rule, then the earlier match within it.
func comparePrecedence(a, b *precedence) int {
	if c := cmp.Compare(a.pathRank, b.pathRank); c != 0 {
		return c
	}
	if c := cmp.Compare(b.pathLen, a.pathLen); c != 0 {
		return c
	}
	if a.method != b.method {
		if a.method {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(b.headers, a.headers); c != 0 {
		return c
	}
	if c := cmp.Compare(b.queries, a.queries); c != 0 {
		return c
	}
	if c := a.created.Compare(b.created); c != 0 {
		return c
	}
	if c := cmp.Compare(a.route, b.route); c != 0 {
		return c
	}
	if c := cmp.Compare(a.rule, b.rule); c != 0 {
		return c
	}
	return cmp.Compare(a.match, b.match)
}
