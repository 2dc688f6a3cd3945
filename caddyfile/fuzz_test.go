package caddyfile

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	_ "github.com/caddymesh/caddymesh/modules/file"
	_ "github.com/caddymesh/caddymesh/modules/identity"
	_ "github.com/caddymesh/caddymesh/modules/kube"
	_ "github.com/caddymesh/caddymesh/modules/meshless"
)

// FuzzMeshOption feeds arbitrary bodies to the mesh global option. The adapter may reject
// them, but must not panic, and what it accepts must be a mesh app Caddy can decode.
func FuzzMeshOption(f *testing.F) {
	for _, seed := range []string{
		"source file ./m",
		"source file ./a ./b/*.yaml {\n name x\n debounce 1s\n watch off\n}",
		"source file {\n paths a b\n}\nsource file c {\n name c\n}",
		"source",
		"source nosuch x",
		"source file {\n debounce -1s\n}",
		"source file a {\n watch maybe\n}",
		"sorce file a",
		"source kubernetes cluster {\n kubeconfig /k\n context c\n namespaces a b\n label_selector pods app=x tier!=y\n node {env.NODE_NAME}\n kinds pods meshlets\n}",
		"source kubernetes {\n kinds nope\n}",
		"source kubernetes a b",
		"source kubernetes {\n label_selector pods\n}",
		"source kubernetes {\n label_selector pods a\n label_selector pods b\n}",
		"node n1\nidentity {\n ca internal\n trust_domain example.org\n lifetime 1h\n}\nmeshless {\n root /r\n tunnel_port 15008\n handshake_timeout 2s\n}",
		"identity {\n ca remote\n}",
		"identity\nidentity",
		"meshless {\n tunnel_port 0\n}",
		"meshless x",
		"node",
	} {
		f.Add(seed)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	f.Fuzz(func(t *testing.T, body string) {
		cfg := "{\n\tmesh {\n" + body + "\n\t}\n}\n"
		out, _, err := adapter.Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
		if err != nil {
			return
		}
		if len(out) == 0 {
			t.Fatal("adapted to nothing without an error")
		}
	})
}
