package xds

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

// FuzzParseResourceName checks that ParseResourceName never panics and keeps its promises
// on any input: an error wraps ErrMalformedName; a name that parses prints in a canonical
// form that reparses to an equal name and prints the same again; plain names print as
// given; the accessors agree with a rebuild through NewXDSTPName.
func FuzzParseResourceName(f *testing.F) {
	for _, tt := range validNames {
		f.Add(tt.in)
	}
	for _, tt := range invalidNames {
		f.Add(tt.in)
	}
	f.Add("xdstp://%/x/y")
	f.Add("xdstp://a/" + cdsName + "/%2A?%3D=%26&=&&a")

	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseResourceName(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedName) {
				t.Fatalf("ParseResourceName(%q) error %v does not wrap ErrMalformedName", s, err)
			}
			if !n.IsZero() {
				t.Fatalf("ParseResourceName(%q) failed but returned %#v", s, n)
			}
			return
		}
		canonical := n.String()
		again, err := ParseResourceName(canonical)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canonical, s, err)
		}
		if again != n {
			t.Fatalf("%q → %q → %#v, want %#v", s, canonical, again, n)
		}
		if again.String() != canonical {
			t.Fatalf("String() is not idempotent: %q → %q → %q", s, canonical, again.String())
		}
		if !n.IsXDSTP() {
			if canonical != s || n.ID() != s || strings.HasPrefix(s, "xdstp:") {
				t.Fatalf("plain name %q printed as %q (id %q)", s, canonical, n.ID())
			}
			return
		}
		rebuilt, err := NewXDSTPName(n.Authority(), n.Type(), n.ID(), n.ContextParams())
		if err != nil || rebuilt != n {
			t.Fatalf("rebuilding %q from its parts gave %#v, %v", s, rebuilt, err)
		}
		if params := n.ContextParams(); params != nil && len(params) == 0 {
			t.Fatalf("ContextParams of %q is empty but not nil", s)
		}
		if c, ok := n.GlobCollection(); ok {
			if !c.IsGlob() || c.Type() != n.Type() || c.Authority() != n.Authority() ||
				!maps.Equal(c.ContextParams(), n.ContextParams()) {
				t.Fatalf("GlobCollection(%q) = %q", s, c)
			}
		} else if !n.IsGlob() {
			t.Fatalf("xdstp name %q is neither a glob nor in one", s)
		}
	})
}
