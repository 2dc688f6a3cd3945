package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	_ "github.com/caddymesh/caddymesh"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// TestCaddyfileAdapt runs the goldens in caddyfile_adapt/, in Caddy's format: a Caddyfile, a
// line of dashes, and the JSON it adapts to. When the part after the dashes is not JSON, it
// is the error the Caddyfile must be rejected with (line number included).
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob("caddyfile_adapt/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no goldens found: %v", err)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".caddyfiletest"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(data), "\n----------\n")
			if !ok {
				t.Fatalf("%s: no ---------- separator", f)
			}
			want = strings.TrimSpace(want)
			got, warnings, err := adapter.Adapt([]byte(input+"\n"), map[string]any{"filename": "Caddyfile"})
			for _, w := range warnings {
				t.Logf("warning: %s:%d: %s", w.File, w.Line, w.Message)
			}
			if !strings.HasPrefix(want, "{") {
				if err == nil {
					t.Fatalf("adapted without error; want error %q", want)
				}
				if err.Error() != want {
					t.Fatalf("error:\n got: %s\nwant: %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("adapting: %v", err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "\t"); err != nil {
				t.Fatal(err)
			}
			if pretty.String() != want {
				t.Errorf("adapted JSON differs.\n got:\n%s\nwant:\n%s", pretty.String(), want)
			}
		})
	}
}
