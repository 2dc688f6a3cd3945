package httproute

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// matcher is a route's compiled Match. The path is checked by the index before a route is
// a candidate, except for a regex (and the segment boundary of a segment prefix), which
// pathOK checks.
type matcher struct {
	path     *table.PathMatch
	pathRe   *regexp.Regexp
	prefix   string // the segment prefix without a trailing "/", or the plain prefix
	method   string
	headers  []stringMatcher
	query    []stringMatcher
	fraction *table.Fraction
}

// stringMatcher is a compiled StringMatch.
type stringMatcher struct {
	table.StringMatch
	canonical string // the header name in canonical form
	re        *regexp.Regexp
}

func compileMatch(m table.Match) (*matcher, error) {
	out := &matcher{path: m.Path, method: m.Method, fraction: m.Fraction}
	if p := m.Path; p != nil {
		switch p.Kind {
		case table.PathExact, table.PathPrefix:
			out.prefix = p.Value
		case table.PathSegmentPrefix:
			out.prefix = strings.TrimRight(p.Value, "/")
		case table.PathRegex:
			expr := "^(?:" + p.Value + ")$"
			if p.IgnoreCase {
				expr = "(?i)" + expr
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, fmt.Errorf("path regex %q: %w", p.Value, err)
			}
			out.pathRe = re
		default:
			return nil, fmt.Errorf("unknown path match kind %q", p.Kind)
		}
	}
	var err error
	if out.headers, err = compileStringMatches(m.Headers, true); err != nil {
		return nil, fmt.Errorf("header match: %w", err)
	}
	if out.query, err = compileStringMatches(m.Query, false); err != nil {
		return nil, fmt.Errorf("query match: %w", err)
	}
	return out, nil
}

func compileStringMatches(ms []table.StringMatch, header bool) ([]stringMatcher, error) {
	out := make([]stringMatcher, len(ms))
	for i, m := range ms {
		out[i] = stringMatcher{StringMatch: m, canonical: m.Name}
		if header {
			out[i].canonical = http.CanonicalHeaderKey(m.Name)
		}
		switch m.Kind {
		case table.StringExact, table.StringPrefix, table.StringSuffix, table.StringContains, table.StringPresent:
		case table.StringRegex:
			expr := "^(?:" + m.Value + ")$"
			if m.IgnoreCase {
				expr = "(?i)" + expr
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, fmt.Errorf("%q: regex %q: %w", m.Name, m.Value, err)
			}
			out[i].re = re
		default:
			return nil, fmt.Errorf("%q: unknown kind %q", m.Name, m.Kind)
		}
	}
	return out, nil
}

// request is what matching reads from a request, parsed at most once.
type request struct {
	r         *http.Request
	path      string
	query     url.Values
	queryDone bool
}

func (q *request) queryValues() url.Values {
	if !q.queryDone {
		q.query, q.queryDone = q.r.URL.Query(), true
	}
	return q.query
}

// matches checks everything but what the index already guaranteed.
func (m *matcher) matches(q *request) bool {
	if !m.pathOK(q.path) {
		return false
	}
	if m.method != "" && q.r.Method != m.method {
		return false
	}
	for i := range m.headers {
		h := &m.headers[i]
		vs, ok := q.r.Header[h.canonical]
		if h.check(strings.Join(vs, ","), ok) == h.Invert {
			return false
		}
	}
	for i := range m.query {
		qm := &m.query[i]
		vs, ok := q.queryValues()[qm.Name]
		v := ""
		if ok {
			v = vs[0] // the first value, as the Gateway API asks
		}
		if qm.check(v, ok) == qm.Invert {
			return false
		}
	}
	if f := m.fraction; f != nil && f.Denominator > 0 && rand.Uint32N(f.Denominator) >= f.Numerator {
		return false
	}
	return true
}

// pathOK is the part of the path match the index cannot decide.
func (m *matcher) pathOK(path string) bool {
	p := m.path
	if p == nil {
		return true
	}
	switch p.Kind {
	case table.PathRegex:
		return m.pathRe.MatchString(path)
	case table.PathSegmentPrefix:
		// The index found the prefix; the next character must end a segment.
		n := len(m.prefix)
		return len(path) == n || path[n] == '/'
	}
	return true
}

// check reports whether v (present says whether the header or parameter was there) meets
// the match, before Invert.
func (s *stringMatcher) check(v string, present bool) bool {
	if !present {
		return false
	}
	if s.IgnoreCase && s.re == nil {
		v, want := strings.ToLower(v), strings.ToLower(s.Value)
		return compareString(s.Kind, v, want)
	}
	if s.re != nil {
		return s.re.MatchString(v)
	}
	return compareString(s.Kind, v, s.Value)
}

func compareString(kind table.StringKind, v, want string) bool {
	switch kind {
	case table.StringExact:
		return v == want
	case table.StringPrefix:
		return strings.HasPrefix(v, want)
	case table.StringSuffix:
		return strings.HasSuffix(v, want)
	case table.StringContains:
		return strings.Contains(v, want)
	case table.StringPresent:
		return true
	}
	return false
}
