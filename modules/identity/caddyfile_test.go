package identity

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		into    caddyfile.Unmarshaler
		want    any
		wantErr string
	}{
		{
			name: "identity block",
			input: `identity {
				ca internal
				trust_domain mesh.example
				authority meshroot
				lifetime 1h
				trusted_roots /a.pem /b.pem
				trusted_roots /c.pem
			}`,
			into: new(Internal),
			want: &Internal{TrustDomainName: "mesh.example", Authority: "meshroot", Lifetime: caddy.Duration(time.Hour),
				TrustedRootsPEMFiles: []string{"/a.pem", "/b.pem", "/c.pem"}},
		},
		{name: "empty identity block", input: `identity`, into: new(Internal), want: new(Internal)},
		{name: "another ca", input: "identity {\n ca remote\n}", into: new(Internal), wantErr: `ca "remote"`},
		{name: "short lifetime", input: "identity {\n lifetime 10ms\n}", into: new(Internal), wantErr: "shorter than 1s"},
		{name: "bad lifetime", input: "identity {\n lifetime soon\n}", into: new(Internal), wantErr: "bad lifetime"},
		{name: "unknown option", input: "identity {\n root x\n}", into: new(Internal), wantErr: `unrecognized identity option "root"`},
		{name: "two trust domains", input: "identity {\n trust_domain a b\n}", into: new(Internal), wantErr: "wrong argument count"},
		{name: "no trusted roots", input: "identity {\n trusted_roots\n}", into: new(Internal), wantErr: "wrong argument count"},

		{name: "certificate by ID", input: `mesh spiffe://cluster.local/node/n`, into: new(CertGetter),
			want: &CertGetter{ID: "spiffe://cluster.local/node/n"}},
		{name: "certificate by meshlet", input: "mesh {\n namespace shop\n meshlet cart\n}", into: new(CertGetter),
			want: &CertGetter{Namespace: "shop", Meshlet: "cart"}},
		{name: "certificate by node", input: "mesh {\n node {env.NODE_NAME}\n}", into: new(CertGetter),
			want: &CertGetter{Node: "{env.NODE_NAME}"}},
		{name: "certificate of nothing", input: `mesh`, into: new(CertGetter), wantErr: "needs a SPIFFE ID"},
		{name: "meshlet without namespace", input: "mesh {\n meshlet cart\n}", into: new(CertGetter), wantErr: "needs a SPIFFE ID"},
		{name: "two IDs", input: `mesh spiffe://a/b spiffe://a/c`, into: new(CertGetter), wantErr: "wrong argument count"},

		{name: "trust pool", input: `mesh`, into: new(CAPool), want: new(CAPool)},
		{name: "trust pool with an argument", input: `mesh x`, into: new(CAPool), wantErr: "wrong argument count"},
		{name: "trust pool with options", input: "mesh {\n x\n}", into: new(CAPool), wantErr: "takes no options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.into.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tt.into, tt.want) {
				t.Errorf("got %+v, want %+v", tt.into, tt.want)
			}
		})
	}
}

// TestCaddyfileAdapt checks the modules' names in the Caddyfile's tls directive.
func TestCaddyfileAdapt(t *testing.T) {
	const input = `https://:8443 {
	tls {
		get_certificate mesh spiffe://cluster.local/node/node-1
		client_auth {
			mode require_and_verify
			trust_pool mesh
		}
	}
	respond "hi"
}`
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"get_certificate":[{"id":"spiffe://cluster.local/node/node-1","via":"mesh"}]`,
		`"ca":{"provider":"mesh"}`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("adapted config lacks %s:\n%s", want, out)
		}
	}
}
