package resource

import (
	"regexp"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// MatchKind says how a string, header or query parameter matcher compares, collapsing the
// proto's current and deprecated oneof members into one list.
type MatchKind uint8

// The match kinds. String matchers use Exact to Custom; header and query parameter
// matchers may also be Present, and header matchers Range.
const (
	// MatchExact requires the whole value to equal Value.
	MatchExact MatchKind = iota + 1
	// MatchPrefix requires the value to start with Value.
	MatchPrefix
	// MatchSuffix requires the value to end with Value.
	MatchSuffix
	// MatchContains requires the value to contain Value.
	MatchContains
	// MatchRegex requires the whole value to match Regex.
	MatchRegex
	// MatchCustom is a typed extension matcher this package does not interpret.
	MatchCustom
	// MatchPresent requires the header or parameter to be present (or absent when Present
	// is false).
	MatchPresent
	// MatchRange requires an integer header value in [RangeStart, RangeEnd).
	MatchRange
)

var matchKindNames = []string{"", "Exact", "Prefix", "Suffix", "Contains", "Regex", "Custom", "Present", "Range"}

// String returns the kind's name.
func (k MatchKind) String() string { return enumString(matchKindNames, int(k)) }

// MarshalText makes JSON show the kind's name.
func (k MatchKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// StringMatcher is envoy.type.matcher.v3.StringMatcher in plain fields.
type StringMatcher struct {
	// Kind is one of MatchExact to MatchCustom.
	Kind MatchKind
	// Value is the string compared with, or the regular expression's pattern.
	Value string
	// Regex is Value compiled with Go's regexp (RE2 syntax) and anchored at both ends,
	// because Envoy requires a safe_regex to match the whole input; nil unless Kind is
	// MatchRegex.
	Regex *regexp.Regexp
	// IgnoreCase makes exact, prefix, suffix and contains comparisons ASCII
	// case-insensitive, as in Envoy; it has no effect on regular expressions.
	IgnoreCase bool
}

// Match reports whether s satisfies the matcher, with Envoy's semantics. A custom matcher
// never matches: this package cannot know what it means.
func (m *StringMatcher) Match(s string) bool {
	switch m.Kind {
	case MatchExact:
		return m.equal(s, m.Value)
	case MatchPrefix:
		return len(s) >= len(m.Value) && m.equal(s[:len(m.Value)], m.Value)
	case MatchSuffix:
		return len(s) >= len(m.Value) && m.equal(s[len(s)-len(m.Value):], m.Value)
	case MatchContains:
		if !m.IgnoreCase {
			return strings.Contains(s, m.Value)
		}
		for i := 0; i+len(m.Value) <= len(s); i++ {
			if asciiEqualFold(s[i:i+len(m.Value)], m.Value) {
				return true
			}
		}
		return false
	case MatchRegex:
		return m.Regex != nil && m.Regex.MatchString(s)
	}
	return false
}

func (m *StringMatcher) equal(a, b string) bool {
	if m.IgnoreCase {
		return asciiEqualFold(a, b)
	}
	return a == b
}

// asciiEqualFold compares ignoring ASCII case only, as Envoy's ignore_case does; Unicode
// folding would match strings Envoy does not.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if asciiLower(a[i]) != asciiLower(b[i]) {
			return false
		}
	}
	return true
}

func asciiLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// compileRegex compiles an Envoy safe_regex for whole-input matching, recording a problem
// when it does not compile. RE2, which Envoy uses, and Go's regexp share their syntax, so a
// pattern Go rejects would also be rejected by Envoy (or uses a feature neither supports).
func compileRegex(ps *problems, at *path, pattern string) *regexp.Regexp {
	re, err := regexp.Compile(pattern)
	if err != nil {
		ps.addf(at, "regular expression does not compile: %v", err)
		return nil
	}
	// A pattern that compiles has balanced groups, so the wrapper cannot change how it
	// parses; its flags stay scoped to the group. The wrapper can still push a pattern
	// at the limits of nesting or size over them, so its error is kept.
	anchored, err := regexp.Compile(`\A(?:` + re.String() + `)\z`)
	if err != nil {
		ps.addf(at, "regular expression does not compile: %v", err)
		return nil
	}
	return anchored
}

// compileSearchRegex compiles a regex used to search and replace (regex_rewrite), which
// Envoy does not anchor.
func compileSearchRegex(ps *problems, at *path, pattern string) *regexp.Regexp {
	re, err := regexp.Compile(pattern)
	if err != nil {
		ps.addf(at, "regular expression does not compile: %v", err)
		return nil
	}
	return re
}

// buildStringMatcher flattens a StringMatcher proto, compiling its regex.
func buildStringMatcher(ps *problems, at *path, m *matcherv3.StringMatcher) StringMatcher {
	out := StringMatcher{IgnoreCase: m.GetIgnoreCase()}
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		out.Kind, out.Value = MatchExact, p.Exact
	case *matcherv3.StringMatcher_Prefix:
		out.Kind, out.Value = MatchPrefix, p.Prefix
	case *matcherv3.StringMatcher_Suffix:
		out.Kind, out.Value = MatchSuffix, p.Suffix
	case *matcherv3.StringMatcher_Contains:
		out.Kind, out.Value = MatchContains, p.Contains
	case *matcherv3.StringMatcher_SafeRegex:
		re := at.at("safe_regex")
		out.Kind, out.Value = MatchRegex, p.SafeRegex.GetRegex()
		out.Regex = compileRegex(ps, &re, out.Value)
	case *matcherv3.StringMatcher_Custom:
		out.Kind, out.Value = MatchCustom, p.Custom.GetName()
	}
	return out
}

// HeaderMatcher is one header condition of a route, flattened from the proto's current
// string_match and its deprecated predecessors (exact_match, prefix_match, ...), which
// control planes still send.
type HeaderMatcher struct {
	// Name is the header name; pseudo-headers such as ":authority" included.
	Name string
	// Kind says which of the fields below apply.
	Kind MatchKind
	// Value is the string compared with, or the regular expression's pattern.
	Value string
	// Regex is Value compiled for whole-value matching, for MatchRegex.
	Regex *regexp.Regexp
	// IgnoreCase makes string comparisons ASCII case-insensitive.
	IgnoreCase bool
	// RangeStart and RangeEnd bound the header's integer value, for MatchRange: start
	// inclusive, end exclusive.
	RangeStart, RangeEnd int64
	// Present is the required presence, for MatchPresent. A matcher without any condition
	// is a presence match too, as in Envoy.
	Present bool
	// Invert negates the result.
	Invert bool
	// TreatMissingAsEmpty matches a missing header as if it were present and empty.
	TreatMissingAsEmpty bool
}

// buildHeaderMatcher flattens a HeaderMatcher proto.
func buildHeaderMatcher(ps *problems, at *path, h *routev3.HeaderMatcher) HeaderMatcher {
	out := HeaderMatcher{
		Name:                h.GetName(),
		Invert:              h.GetInvertMatch(),
		TreatMissingAsEmpty: h.GetTreatMissingHeaderAsEmpty(),
	}
	switch s := h.GetHeaderMatchSpecifier().(type) {
	case *routev3.HeaderMatcher_StringMatch:
		sm := at.at("string_match")
		out.setString(buildStringMatcher(ps, &sm, s.StringMatch))
	case *routev3.HeaderMatcher_ExactMatch:
		out.Kind, out.Value = MatchExact, s.ExactMatch
	case *routev3.HeaderMatcher_PrefixMatch:
		out.Kind, out.Value = MatchPrefix, s.PrefixMatch
	case *routev3.HeaderMatcher_SuffixMatch:
		out.Kind, out.Value = MatchSuffix, s.SuffixMatch
	case *routev3.HeaderMatcher_ContainsMatch:
		out.Kind, out.Value = MatchContains, s.ContainsMatch
	case *routev3.HeaderMatcher_SafeRegexMatch:
		re := at.at("safe_regex_match")
		out.Kind, out.Value = MatchRegex, s.SafeRegexMatch.GetRegex()
		out.Regex = compileRegex(ps, &re, out.Value)
	case *routev3.HeaderMatcher_RangeMatch:
		out.Kind = MatchRange
		out.RangeStart, out.RangeEnd = s.RangeMatch.GetStart(), s.RangeMatch.GetEnd()
	case *routev3.HeaderMatcher_PresentMatch:
		out.Kind, out.Present = MatchPresent, s.PresentMatch
	default:
		out.Kind, out.Present = MatchPresent, true
	}
	return out
}

// setString copies a string matcher's fields.
func (h *HeaderMatcher) setString(m StringMatcher) {
	h.Kind, h.Value, h.Regex, h.IgnoreCase = m.Kind, m.Value, m.Regex, m.IgnoreCase
}

// QueryParameterMatcher is one query parameter condition of a route.
type QueryParameterMatcher struct {
	// Name is the parameter's key.
	Name string
	// Kind is a string match kind, or MatchPresent.
	Kind MatchKind
	// Value is the string compared with, or the regular expression's pattern.
	Value string
	// Regex is Value compiled for whole-value matching, for MatchRegex.
	Regex *regexp.Regexp
	// IgnoreCase makes string comparisons ASCII case-insensitive.
	IgnoreCase bool
	// Present is the required presence, for MatchPresent. A matcher without a condition
	// is a presence match, as in Envoy.
	Present bool
}

// buildQueryParameterMatcher flattens a QueryParameterMatcher proto.
func buildQueryParameterMatcher(ps *problems, at *path, q *routev3.QueryParameterMatcher) QueryParameterMatcher {
	out := QueryParameterMatcher{Name: q.GetName()}
	switch s := q.GetQueryParameterMatchSpecifier().(type) {
	case *routev3.QueryParameterMatcher_StringMatch:
		sm := at.at("string_match")
		m := buildStringMatcher(ps, &sm, s.StringMatch)
		out.Kind, out.Value, out.Regex, out.IgnoreCase = m.Kind, m.Value, m.Regex, m.IgnoreCase
	case *routev3.QueryParameterMatcher_PresentMatch:
		out.Kind, out.Present = MatchPresent, s.PresentMatch
	default:
		out.Kind, out.Present = MatchPresent, true
	}
	return out
}
