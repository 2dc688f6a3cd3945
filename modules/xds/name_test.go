package xds

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
)

const (
	cdsName = "envoy.config.cluster.v3.Cluster"
	ldsName = "envoy.config.listener.v3.Listener"
)

// validNames are the names the parser accepts, with what it must make of them. The fuzz
// test seeds its corpus from here and from invalidNames.
var validNames = []struct {
	in        string
	canonical string
	xdstp     bool
	authority string
	typ       TypeURL
	id        string
	params    map[string]string
	glob      bool
}{
	// Plain names are opaque and kept byte for byte.
	{in: "web", canonical: "web", id: "web"},
	{in: "outbound|80||web.default.svc.cluster.local", canonical: "outbound|80||web.default.svc.cluster.local",
		id: "outbound|80||web.default.svc.cluster.local"},
	{in: "*", canonical: "*", id: "*"},
	{in: "a b%zz#?", canonical: "a b%zz#?", id: "a b%zz#?"},
	{in: "XDSTP://a/b/c", canonical: "XDSTP://a/b/c", id: "XDSTP://a/b/c"}, // the scheme is case-sensitive
	{in: " xdstp://a/b/c", canonical: " xdstp://a/b/c", id: " xdstp://a/b/c"},

	// xdstp:// names.
	{in: "xdstp://auth.example/" + ldsName + "/foo/bar", canonical: "xdstp://auth.example/" + ldsName + "/foo/bar",
		xdstp: true, authority: "auth.example", typ: ListenerType, id: "foo/bar"},
	{in: "xdstp:///" + cdsName + "/c1", canonical: "xdstp:///" + cdsName + "/c1",
		xdstp: true, typ: ClusterType, id: "c1"},
	{in: "xdstp://a/" + cdsName + "/dir//x/", canonical: "xdstp://a/" + cdsName + "/dir//x/",
		xdstp: true, authority: "a", typ: ClusterType, id: "dir//x/"},
	{in: "xdstp://a/" + cdsName + "/../x", canonical: "xdstp://a/" + cdsName + "/../x",
		xdstp: true, authority: "a", typ: ClusterType, id: "../x"},
	{in: "xdstp://[::1]:8080/" + cdsName + "/c", canonical: "xdstp://[::1]:8080/" + cdsName + "/c",
		xdstp: true, authority: "[::1]:8080", typ: ClusterType, id: "c"},
	{in: "xdstp://user@a/example.v1.Thing/t", canonical: "xdstp://user@a/example.v1.Thing/t",
		xdstp: true, authority: "user@a", typ: "type.googleapis.com/example.v1.Thing", id: "t"},

	// Context params are sorted; empty pieces vanish; a missing '=' is an empty value.
	{in: "xdstp://a/" + cdsName + "/c?z=1&a=2&m=", canonical: "xdstp://a/" + cdsName + "/c?a=2&m=&z=1",
		xdstp: true, authority: "a", typ: ClusterType, id: "c", params: map[string]string{"a": "2", "m": "", "z": "1"}},
	{in: "xdstp://a/" + cdsName + "/c?flag", canonical: "xdstp://a/" + cdsName + "/c?flag=",
		xdstp: true, authority: "a", typ: ClusterType, id: "c", params: map[string]string{"flag": ""}},
	{in: "xdstp://a/" + cdsName + "/c?&b=1&&", canonical: "xdstp://a/" + cdsName + "/c?b=1",
		xdstp: true, authority: "a", typ: ClusterType, id: "c", params: map[string]string{"b": "1"}},
	{in: "xdstp://a/" + cdsName + "/c?", canonical: "xdstp://a/" + cdsName + "/c",
		xdstp: true, authority: "a", typ: ClusterType, id: "c"},
	{in: "xdstp://a/" + cdsName + "/c?k=a+b&e=x=y&p=/?:@", canonical: "xdstp://a/" + cdsName + "/c?e=x%3Dy&k=a%2Bb&p=/?:@",
		xdstp: true, authority: "a", typ: ClusterType, id: "c", params: map[string]string{"k": "a+b", "e": "x=y", "p": "/?:@"}},

	// Percent-encoding: decoded everywhere, printed only where needed, in uppercase hex.
	{in: "xdstp://f%25o%2Fo%3F%23/" + ldsName + "/b%25%3A%3F%23%5B%5Dr//baz?%25%23%26%3Dk=v%25%23%5B%5D%26%3D",
		canonical: "xdstp://f%25o%2Fo%3F%23/" + ldsName + "/b%25:%3F%23%5B%5Dr//baz?%25%23%26%3Dk=v%25%23%5B%5D%26%3D",
		xdstp:     true, authority: "f%o/o?#", typ: ListenerType, id: "b%:?#[]r//baz", params: map[string]string{"%#&=k": "v%#[]&="}},
	{in: "xdstp://%61/" + cdsName + "/%2f%7e%c3%a9%20", canonical: "xdstp://a/" + cdsName + "//~%C3%A9%20",
		xdstp: true, authority: "a", typ: ClusterType, id: "/~é "},
	{in: "xdstp://a/" + cdsName + "/café x", canonical: "xdstp://a/" + cdsName + "/caf%C3%A9%20x",
		xdstp: true, authority: "a", typ: ClusterType, id: "café x"},
	{in: "xdstp://a/envoy%2Econfig.cluster.v3.Cluster/c", canonical: "xdstp://a/" + cdsName + "/c",
		xdstp: true, authority: "a", typ: ClusterType, id: "c"},
	{in: "xdstp://a/" + cdsName + "/%FF%00", canonical: "xdstp://a/" + cdsName + "/%FF%00",
		xdstp: true, authority: "a", typ: ClusterType, id: "\xff\x00"},

	// Glob collections.
	{in: "xdstp://a/" + ldsName + "/listeners/*?node_type=ingress",
		canonical: "xdstp://a/" + ldsName + "/listeners/*?node_type=ingress",
		xdstp:     true, authority: "a", typ: ListenerType, id: "listeners/*", params: map[string]string{"node_type": "ingress"}, glob: true},
	{in: "xdstp://a/" + ldsName + "/*", canonical: "xdstp://a/" + ldsName + "/*",
		xdstp: true, authority: "a", typ: ListenerType, id: "*", glob: true},
	{in: "xdstp://a/" + ldsName + "/l/%2A", canonical: "xdstp://a/" + ldsName + "/l/*",
		xdstp: true, authority: "a", typ: ListenerType, id: "l/*", glob: true},
	{in: "xdstp://a/" + ldsName + "/l*", canonical: "xdstp://a/" + ldsName + "/l*",
		xdstp: true, authority: "a", typ: ListenerType, id: "l*"},
}

var invalidNames = []struct {
	in      string
	wantErr string
}{
	{"", "empty"},
	{"xdstp:", `must be followed by "//"`},
	{"xdstp:/a/" + cdsName + "/c", `must be followed by "//"`},
	{"xdstp://", "missing resource type"},
	{"xdstp://auth", "missing resource type"},
	{"xdstp://auth?x=1/" + cdsName + "/c", "missing resource type"},
	{"xdstp://auth/", "resource type: missing protobuf message name"},
	{"xdstp://auth/?x=1", "resource type: missing protobuf message name"},
	{"xdstp://auth/" + cdsName, "missing id"},
	{"xdstp://auth/" + cdsName + "/", "missing id"},
	{"xdstp://auth/" + cdsName + "/?x=1", "missing id"},
	{"xdstp://auth/type.googleapis.com%2F" + cdsName + "/c", "not a fully qualified protobuf message name"},
	{"xdstp://auth/1bad/c", "not a fully qualified protobuf message name"},
	{"xdstp://auth/a..b/c", "not a fully qualified protobuf message name"},
	{"xdstp://auth/" + cdsName + "/c#alt=xdstp://b/" + cdsName + "/c", "processing directives"},
	{"xdstp://auth/" + cdsName + "/c?a=1#entry=x", "processing directives"},
	{"xdstp://a%2/" + cdsName + "/c", `authority: invalid percent-encoding "%2" at byte 1`},
	{"xdstp://a/" + cdsName + "/c%", `id: invalid percent-encoding "%" at byte 1`},
	{"xdstp://a/" + cdsName + "/c%zz", `id: invalid percent-encoding "%zz"`},
	{"xdstp://a/envoy%ZZ/c", "resource type: invalid percent-encoding"},
	{"xdstp://a/" + cdsName + "/c?=v", "context params: empty key"},
	{"xdstp://a/" + cdsName + "/c?%=v", "context params: key"},
	{"xdstp://a/" + cdsName + "/c?k=%", `context params: value of "k": invalid percent-encoding`},
	{"xdstp://a/" + cdsName + "/c?k=1&k=2", `context params: key "k" given twice`},
	{"xdstp://a/" + cdsName + "/c?k=1&%6B=1", `context params: key "k" given twice`},
}

func TestParseResourceNameValid(t *testing.T) {
	for _, tt := range validNames {
		t.Run(tt.in, func(t *testing.T) {
			n, err := ParseResourceName(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.String(); got != tt.canonical {
				t.Errorf("String() = %q, want %q", got, tt.canonical)
			}
			if n.IsXDSTP() != tt.xdstp || n.Authority() != tt.authority || n.Type() != tt.typ || n.ID() != tt.id {
				t.Errorf("got xdstp=%v authority=%q type=%q id=%q, want %v %q %q %q",
					n.IsXDSTP(), n.Authority(), n.Type(), n.ID(), tt.xdstp, tt.authority, tt.typ, tt.id)
			}
			if got := n.ContextParams(); !maps.Equal(got, tt.params) || (got == nil) != (len(tt.params) == 0) {
				t.Errorf("ContextParams() = %v, want %v", got, tt.params)
			}
			if n.IsGlob() != tt.glob {
				t.Errorf("IsGlob() = %v, want %v", n.IsGlob(), tt.glob)
			}
			if n.IsWildcard() != (tt.in == "*") {
				t.Errorf("IsWildcard() = %v", n.IsWildcard())
			}
			if n.IsZero() {
				t.Error("a parsed name is zero")
			}
			again, err := ParseResourceName(n.String())
			if err != nil || again != n {
				t.Errorf("round trip: %#v, %v; want %#v", again, err, n)
			}
		})
	}
}

func TestParseResourceNameInvalid(t *testing.T) {
	for _, tt := range invalidNames {
		t.Run(tt.in, func(t *testing.T) {
			n, err := ParseResourceName(tt.in)
			if err == nil {
				t.Fatalf("accepted as %#v", n)
			}
			if !errors.Is(err, ErrMalformedName) {
				t.Errorf("error %v does not wrap ErrMalformedName", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if tt.in != "" && !strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %q does not quote the name", err)
			}
			if !n.IsZero() {
				t.Errorf("a failed parse returned %#v", n)
			}
		})
	}
}

// Names that differ only in spelling are the same map key; names that differ are not.
func TestResourceNameEquality(t *testing.T) {
	same := [][]string{
		{"xdstp://a/" + cdsName + "/c?b=1&a=2", "xdstp://a/" + cdsName + "/c?a=2&b=1", "xdstp://%61/" + cdsName + "/%63?%61=%32&b=1&"},
		{"xdstp://a/" + cdsName + "/x/y", "xdstp://a/" + cdsName + "/x%2Fy", "xdstp://a/" + cdsName + "/x%2fy"},
	}
	for _, group := range same {
		set := map[ResourceName]bool{}
		for _, s := range group {
			set[MustParseResourceName(s)] = true
		}
		if len(set) != 1 {
			t.Errorf("%q are %d names, want 1", group, len(set))
		}
	}
	different := []string{
		"c",
		"xdstp://a/" + cdsName + "/c",
		"xdstp:///" + cdsName + "/c",
		"xdstp://a/" + ldsName + "/c",
		"xdstp://a/" + cdsName + "/c?x=",
		"xdstp://a/" + cdsName + "/c?x=1",
		"xdstp://a/" + cdsName + "/c/",
	}
	set := map[ResourceName]string{}
	for _, s := range different {
		n := MustParseResourceName(s)
		if prev, ok := set[n]; ok {
			t.Errorf("%q and %q parse to the same name", prev, s)
		}
		set[n] = s
	}
}

func TestNewXDSTPName(t *testing.T) {
	n, err := NewXDSTPName("team/a?#", ClusterType, "ns/web #1", map[string]string{"z": "&", "a": "é"})
	if err != nil {
		t.Fatal(err)
	}
	want := "xdstp://team%2Fa%3F%23/" + cdsName + "/ns/web%20%231?a=%C3%A9&z=%26"
	if n.String() != want {
		t.Errorf("String() = %q, want %q", n, want)
	}
	if again := MustParseResourceName(want); again != n {
		t.Errorf("reparsed %#v, want %#v", again, n)
	}
	if n.Authority() != "team/a?#" || n.ID() != "ns/web #1" || n.Type() != ClusterType {
		t.Errorf("parts: %q %q %q", n.Authority(), n.ID(), n.Type())
	}

	glob, err := NewXDSTPName("", ListenerType, "ingress/*", nil)
	if err != nil || !glob.IsGlob() || glob.String() != "xdstp:///"+ldsName+"/ingress/*" {
		t.Errorf("glob: %v %v", glob, err)
	}

	bad := []struct {
		typ     TypeURL
		id      string
		params  map[string]string
		wantErr string
	}{
		{"envoy.config.cluster.v3.Cluster", "c", nil, "must start with"},
		{ClusterType, "", nil, "empty id"},
		{ClusterType, "c", map[string]string{"": "v"}, "empty context param key"},
	}
	for _, tt := range bad {
		_, err := NewXDSTPName("a", tt.typ, tt.id, tt.params)
		if !errors.Is(err, ErrMalformedName) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("NewXDSTPName(%q, %q, %v) error = %v, want %q", tt.typ, tt.id, tt.params, err, tt.wantErr)
		}
	}
}

func TestContextParamsIsACopy(t *testing.T) {
	n := MustParseResourceName("xdstp://a/" + cdsName + "/c?k=v")
	n.ContextParams()["k"] = "changed"
	if got := n.ContextParams()["k"]; got != "v" {
		t.Errorf("ContextParams shares its map: %q", got)
	}
}

func TestGlobCollection(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for none
	}{
		{"xdstp://a/" + ldsName + "/listeners/web?node_type=ingress", "xdstp://a/" + ldsName + "/listeners/*?node_type=ingress"},
		{"xdstp://a/" + ldsName + "/x/y/z", "xdstp://a/" + ldsName + "/x/y/*"},
		{"xdstp://a/" + ldsName + "/web", "xdstp://a/" + ldsName + "/*"},
		{"xdstp://a/" + ldsName + "/dir/", "xdstp://a/" + ldsName + "/dir/*"},
		{"xdstp://a/" + ldsName + "/listeners/*", ""},
		{"web", ""},
		{"*", ""},
	}
	for _, tt := range tests {
		got, ok := MustParseResourceName(tt.in).GlobCollection()
		if ok != (tt.want != "") || (ok && got != MustParseResourceName(tt.want)) {
			t.Errorf("GlobCollection(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
		if ok && !got.IsGlob() {
			t.Errorf("GlobCollection(%q) = %q is not a glob", tt.in, got)
		}
	}
}

func TestMustParseResourceNamePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParseResourceName accepted a malformed name")
		}
	}()
	MustParseResourceName("xdstp://a")
}

func TestResourceNameJSON(t *testing.T) {
	type config struct {
		Names []ResourceName `json:"names"`
	}
	in := `{"names":["web","xdstp://a/` + cdsName + `/c?b=1\u0026a=2"]}`
	var c config
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Names) != 2 || c.Names[0] != MustParseResourceName("web") ||
		c.Names[1] != MustParseResourceName("xdstp://a/"+cdsName+"/c?a=2&b=1") {
		t.Fatalf("decoded %v", c.Names)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"names":["web","xdstp://a/` + cdsName + `/c?a=2\u0026b=1"]}`; string(out) != want {
		t.Errorf("encoded %s, want %s", out, want)
	}
	err = json.Unmarshal([]byte(`{"names":["xdstp://a"]}`), &c)
	if !errors.Is(err, ErrMalformedName) {
		t.Errorf("a malformed name in JSON: %v", err)
	}
}
