package gatewayapi

import (
	"slices"
	"testing"
)

func TestIntersect(t *testing.T) {
	tests := []struct {
		listener, route string
		want            string
		ok              bool
	}{
		{anyDomain, "foo.example.com", "foo.example.com", true},
		{anyDomain, "*.example.com", "*.example.com", true},
		{"foo.example.com", "foo.example.com", "foo.example.com", true},
		{"foo.example.com", "bar.example.com", "", false},
		{"foo.example.com", "*.example.com", "foo.example.com", true},
		{"foo.bar.example.com", "*.example.com", "foo.bar.example.com", true},
		{"example.com", "*.example.com", "", false},
		{"*.example.com", "foo.example.com", "foo.example.com", true},
		{"*.example.com", "foo.bar.example.com", "foo.bar.example.com", true},
		{"*.example.com", "example.com", "", false},
		{"*.example.com", "*.example.com", "*.example.com", true},
		{"*.example.com", "*.bar.example.com", "*.bar.example.com", true},
		{"*.bar.example.com", "*.example.com", "*.bar.example.com", true},
		{"*.example.com", "*.example.net", "", false},
		{"*.example.com", "fooexample.com", "", false},
		{"*.wildcard.io", "wildcard.io", "", false},
	}
	for _, tt := range tests {
		got, ok := intersect(tt.listener, tt.route)
		if got != tt.want || ok != tt.ok {
			t.Errorf("intersect(%q, %q) = %q, %v; want %q, %v", tt.listener, tt.route, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAncestors(t *testing.T) {
	tests := map[string][]string{
		"a.b.c":   {"a.b.c", "*.b.c", "*.c", "*"},
		"*.b.c":   {"*.b.c", "*.c", "*"},
		"example": {"example", "*"},
		"*":       {"*"},
	}
	for d, want := range tests {
		if got := ancestors(d); !slices.Equal(got, want) {
			t.Errorf("ancestors(%q) = %q, want %q", d, got, want)
		}
		for _, a := range ancestors(d) {
			if !contains(a, d) {
				t.Errorf("ancestor %q of %q does not contain it", a, d)
			}
		}
	}
}

func TestHostnameLess(t *testing.T) {
	got := []string{"", "*.example.com", "foo.example.com", "*.foo.example.com", "a.io"}
	slices.SortFunc(got, func(a, b string) int {
		if hostnameLess(a, b) {
			return -1
		}
		if hostnameLess(b, a) {
			return 1
		}
		return 0
	})
	want := []string{"foo.example.com", "a.io", "*.foo.example.com", "*.example.com", ""}
	if !slices.Equal(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
}
