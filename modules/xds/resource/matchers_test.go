package resource

import (
	"testing"

	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

func TestStringMatcherMatch(t *testing.T) {
	tests := []struct {
		name    string
		matcher *matcherv3.StringMatcher
		yes, no []string
	}{
		{"exact", &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "abc"}}, []string{"abc"}, []string{"ABC", "abcd", ""}},
		{"exact ignoring case", &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "abc"}, IgnoreCase: true}, []string{"abc", "AbC"}, []string{"abcd"}},
		{"prefix", prefixMatcher("ab"), []string{"ab", "abc"}, []string{"a", "xab", "Abc"}},
		{"prefix ignoring case", &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: "ab"}, IgnoreCase: true}, []string{"ABc"}, []string{"a"}},
		{"suffix", &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Suffix{Suffix: ".svc"}}, []string{"a.svc", ".svc"}, []string{"svc", "a.SVC"}},
		{"contains", &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Contains{Contains: "mid"}}, []string{"amidst", "mid"}, []string{"MID", "mi"}},
		{"contains ignoring case", &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Contains{Contains: "mid"}, IgnoreCase: true}, []string{"aMIDst"}, []string{"m-i-d"}},
		// Only ASCII letters fold, as in Envoy.
		{"no Unicode folding", &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "k"}, IgnoreCase: true}, []string{"K"}, []string{"\u212a"}},
		{"regex matches whole", regexMatcher("a+b"), []string{"ab", "aab"}, []string{"xab", "abx", ""}},
		{"regex alternation stays grouped", regexMatcher("a|b"), []string{"a", "b"}, []string{"ab", "xa"}},
		{"regex flags stay inside", regexMatcher("(?i)ab"), []string{"AB"}, []string{"ABC"}},
		{"custom never matches", &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Custom{}}, nil, []string{"", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps problems
			m := buildStringMatcher(&ps, nil, tt.matcher)
			if !ps.ok() {
				t.Fatal(ps.list())
			}
			for _, s := range tt.yes {
				if !m.Match(s) {
					t.Errorf("%q does not match", s)
				}
			}
			for _, s := range tt.no {
				if m.Match(s) {
					t.Errorf("%q matches", s)
				}
			}
		})
	}
}

// TestRegexAtTheLimits checks that a pattern that only just compiles is reported, not
// panicked on, when anchoring pushes it over Go's nesting limit.
func TestRegexAtTheLimits(t *testing.T) {
	for depth := 995; depth <= 1001; depth++ {
		pattern := ""
		for range depth {
			pattern += "("
		}
		pattern += "a"
		for range depth {
			pattern += ")"
		}
		var ps problems
		re := compileRegex(&ps, nil, pattern)
		if (re == nil) == ps.ok() {
			t.Errorf("depth %d: regex %v with problems %q", depth, re, ps.list())
		}
	}
}
