package identity

import (
	"crypto/x509"
	"math/big"
	"net/url"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	long := "spiffe://td/" + strings.Repeat("a", maxIDLength)
	tests := []struct {
		in      string
		want    ID
		wantErr string // substring; "" means valid
	}{
		{in: "spiffe://cluster.local/ns/default/meshlet/web", want: ID{"cluster.local", "/ns/default/meshlet/web"}},
		{in: "spiffe://cluster.local", want: ID{"cluster.local", ""}},
		{in: "spiffe://a-b_c.9/Path.With-Upper_case/x", want: ID{"a-b_c.9", "/Path.With-Upper_case/x"}},
		{in: "spiffe://td/...", want: ID{"td", "/..."}},
		{in: "", wantErr: `must start with "spiffe://"`},
		{in: "SPIFFE://td/x", wantErr: "must start with"},
		{in: "https://td/x", wantErr: "must start with"},
		{in: "spiffe:/td/x", wantErr: "must start with"},
		{in: "spiffe://", wantErr: "empty trust domain"},
		{in: "spiffe:///x", wantErr: "empty trust domain"},
		{in: "spiffe://Cluster.local/x", wantErr: "character 'C' is not allowed"},
		{in: "spiffe://td:8080/x", wantErr: "character ':'"},
		{in: "spiffe://user@td/x", wantErr: "character '@'"},
		{in: "spiffe://[::1]/x", wantErr: "character '['"},
		{in: "spiffe://td?q=1", wantErr: "character '?'"},
		{in: "spiffe://td/x?q=1", wantErr: "character '?'"},
		{in: "spiffe://td/x#frag", wantErr: "character '#'"},
		{in: "spiffe://td/", wantErr: "empty segment"},
		{in: "spiffe://td/x/", wantErr: "empty segment"},
		{in: "spiffe://td//x", wantErr: "empty segment"},
		{in: "spiffe://td/./x", wantErr: `segment "." is not allowed`},
		{in: "spiffe://td/x/..", wantErr: `segment ".." is not allowed`},
		{in: "spiffe://td/a%2Fb", wantErr: "character '%'"},
		{in: "spiffe://td/a b", wantErr: "character ' '"},
		{in: "spiffe://" + strings.Repeat("a", 256), wantErr: "more than 255"},
		{in: long, wantErr: "more than 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseID(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseID(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseID(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseID(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestIDShapes(t *testing.T) {
	tests := []struct {
		name        string
		id          ID
		wantString  string
		wantNS      string
		wantMeshlet string
		wantNode    string
	}{
		{"meshlet", MeshletID("cluster.local", "shop", "cart"), "spiffe://cluster.local/ns/shop/meshlet/cart", "shop", "cart", ""},
		{"node", NodeID("cluster.local", "node-1"), "spiffe://cluster.local/node/node-1", "", "", "node-1"},
		{"other path", ID{"td", "/ns/a/pod/b"}, "spiffe://td/ns/a/pod/b", "", "", ""},
		{"node with more segments", ID{"td", "/node/a/b"}, "spiffe://td/node/a/b", "", "", ""},
		{"trust domain only", ID{"td", ""}, "spiffe://td", "", "", ""},
		{"empty meshlet", MeshletID("td", "a", ""), "spiffe://td/ns/a/meshlet/", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s := tt.id.String(); s != tt.wantString {
				t.Errorf("String() = %q, want %q", s, tt.wantString)
			}
			ns, m, ok := tt.id.Meshlet()
			if ok != (tt.wantMeshlet != "") || ns != tt.wantNS || m != tt.wantMeshlet {
				t.Errorf("Meshlet() = %q, %q, %v; want %q, %q", ns, m, ok, tt.wantNS, tt.wantMeshlet)
			}
			n, ok := tt.id.Node()
			if ok != (tt.wantNode != "") || n != tt.wantNode {
				t.Errorf("Node() = %q, %v; want %q", n, ok, tt.wantNode)
			}
		})
	}
}

func TestFromCertificate(t *testing.T) {
	uris := func(ss ...string) []*url.URL {
		var out []*url.URL
		for _, s := range ss {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, u)
		}
		return out
	}
	tests := []struct {
		name    string
		cert    *x509.Certificate
		want    ID
		wantErr string
	}{
		{"one SPIFFE ID", &x509.Certificate{URIs: uris("spiffe://td/node/n")}, ID{"td", "/node/n"}, ""},
		{"nil", nil, ID{}, "no certificate"},
		{"no URI", &x509.Certificate{DNSNames: []string{"example.com"}}, ID{}, "has 0 URI SANs"},
		{"two URIs", &x509.Certificate{URIs: uris("spiffe://td/a", "spiffe://td/b")}, ID{}, "has 2 URI SANs"},
		{"not SPIFFE", &x509.Certificate{URIs: uris("https://td/a")}, ID{}, "must start with"},
		{"trust domain ID", &x509.Certificate{URIs: uris("spiffe://td")}, ID{}, "names a trust domain"},
		{"escaped slash", &x509.Certificate{URIs: uris("spiffe://td/a%2Fb")}, ID{}, "character '%'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cert != nil {
				tt.cert.SerialNumber = big.NewInt(7)
			}
			got, err := FromCertificate(tt.cert)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// FuzzParseID checks that parsing never panics and that an ID that parses has exactly one
// spelling: its String parses back to the same ID and equals the input.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{
		"spiffe://cluster.local/ns/default/meshlet/web", "spiffe://td", "spiffe://td/", "spiffe://td//x",
		"spiffe://td/./x", "spiffe://TD/x", "spiffe://td:1/x", "spiffe://td/x?y#z", "spiffe://td/%41",
		"spiffe:///", "", "spiffe://a.b-c_d/A.b-C_d/e",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		if id.String() != s {
			t.Fatalf("ParseID(%q).String() = %q", s, id.String())
		}
		again, err := ParseID(id.String())
		if err != nil {
			t.Fatalf("ParseID(%q) re-parse of %q: %v", s, id.String(), err)
		}
		if again != id {
			t.Fatalf("ParseID(%q) = %#v, re-parsed %#v", s, id, again)
		}
		// Certificates carry the ID as a url.URL: it must come back unchanged.
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("ParseID accepted %q, which is not a URI: %v", s, err)
		}
		if u.String() != s {
			t.Fatalf("ParseID accepted %q, which url.URL spells %q", s, u.String())
		}
	})
}
