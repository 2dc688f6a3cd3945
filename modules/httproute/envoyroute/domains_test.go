package envoyroute

import "testing"

// TestNormalizeDomain covers the domain forms one by one; the goldens cover them in
// context.
func TestNormalizeDomain(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "Example.COM", want: "example.com"},
		{in: "example.com:8080", want: "example.com"},
		{in: "*", want: "*"},
		{in: "*:80", want: "*"},
		{in: "*.Example.com", want: "*.example.com"},
		{in: "[::1]", want: "[::1]"},
		{in: "[::1]:443", want: "[::1]"},
		{in: "::1", want: "::1"},
		{in: "*-bar.foo.com", wantErr: true},
		{in: "foo.*", wantErr: true},
		{in: "*.", wantErr: true},
		{in: "a.*.com", wantErr: true},
		{in: "example.com:http", wantErr: true},
		{in: "example.com:70000", wantErr: true},
		{in: "[::1", wantErr: true},
		{in: "[::1]x", wantErr: true},
		{in: ":80", wantErr: true},
	}
	for _, tt := range tests {
		got, err := normalizeDomain(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("normalizeDomain(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
