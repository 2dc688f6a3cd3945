package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// instance is one in-process Caddy with its own admin address and storage folder.
type instance struct {
	t     *testing.T
	admin string // host:port
	store string
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	return &instance{t: t, admin: freeAddr(t), store: t.TempDir()}
}

// freeAddr returns a loopback address with a port the kernel just handed out.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// load runs Caddy with the given apps, adding this instance's admin address and storage.
func (in *instance) load(apps map[string]any) {
	in.t.Helper()
	cfg := map[string]any{
		"admin":   map[string]any{"listen": in.admin},
		"storage": map[string]any{"module": "file_system", "root": in.store},
		"apps":    apps,
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		in.t.Fatal(err)
	}
	if err := caddy.Load(raw, true); err != nil {
		in.t.Fatalf("loading config: %v", err)
	}
}

// stop stops the apps and the admin endpoint: caddy.Stop alone leaves the admin server
// running, so load a config that disables it first.
func (in *instance) stop() {
	if err := caddy.Load([]byte(`{"admin":{"disabled":true}}`), true); err != nil {
		in.t.Errorf("disabling the admin endpoint: %v", err)
	}
	if err := caddy.Stop(); err != nil {
		in.t.Errorf("stopping caddy: %v", err)
	}
}

// get fetches an admin path and returns the status code and body.
func (in *instance) get(path string) (int, []byte) {
	in.t.Helper()
	return in.do(http.MethodGet, path)
}

func (in *instance) do(method, path string) (int, []byte) {
	in.t.Helper()
	req, err := http.NewRequest(method, "http://"+in.admin+path, nil)
	if err != nil {
		in.t.Fatal(err)
	}
	resp, err := doRetry(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	return resp.StatusCode, body
}

type collectionRow struct {
	Name      string `json:"name"`
	Items     int    `json:"items"`
	Synced    bool   `json:"synced"`
	LastError string `json:"last_error"`
}

// collections returns GET /mesh/collections by name.
func (in *instance) collections() map[string]collectionRow {
	in.t.Helper()
	rows, err := in.tryCollections()
	if err != nil {
		in.t.Fatal(err)
	}
	return rows
}

// tryCollections is collections for callers that expect the admin endpoint to be briefly
// unavailable: Caddy replaces its admin server on every load, even one that fails.
func (in *instance) tryCollections() (map[string]collectionRow, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+in.admin+"/mesh/collections", nil)
	if err != nil {
		return nil, err
	}
	resp, err := doRetry(req)
	if err != nil {
		return nil, fmt.Errorf("GET /mesh/collections: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading /mesh/collections: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /mesh/collections: %d %s", resp.StatusCode, body)
	}
	var out struct {
		Collections []collectionRow `json:"collections"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", body, err)
	}
	rows := make(map[string]collectionRow, len(out.Collections))
	for _, r := range out.Collections {
		rows[r.Name] = r
	}
	return rows, nil
}

// eventually polls cond until it returns "" or the deadline passes.
func eventually(t *testing.T, within time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, e.Name()), string(data))
	}
	return dst
}

// writeFile writes atomically, as editors and deploy tools do, so the watcher never reads a
// half-written file.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func fileSourceApps(name string, paths ...string) map[string]any {
	return map[string]any{"mesh": map[string]any{"sources": map[string]any{
		name: map[string]any{"source": "file", "paths": paths, "debounce": "50ms"},
	}}}
}

func wantCounts(rows map[string]collectionRow, want map[string]int) string {
	var diffs []string
	for name, n := range want {
		r, ok := rows[name]
		switch {
		case !ok:
			diffs = append(diffs, name+": missing")
		case r.Items != n:
			diffs = append(diffs, fmt.Sprintf("%s: %d items, want %d", name, r.Items, n))
		case !r.Synced:
			diffs = append(diffs, name+": not synced")
		}
	}
	return strings.Join(diffs, "; ")
}

// doRetry sends a body-less request, retrying for a second on transport errors. Caddy
// replaces its admin server on every config load and shuts the old one down in the
// background; both listen on the address for a moment, so a request can land on the old one
// as it closes (EOF). That is Caddy's behaviour, not the mesh's, and no test is about it.
func doRetry(req *http.Request) (*http.Response, error) {
	var err error
	for range 20 {
		var resp *http.Response
		if resp, err = client.Do(req); err == nil {
			return resp, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, err
}

// client closes its connections after each request, so that no keep-alive connection (and
// the admin server's goroutine for it) outlives a test's leak check.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// adminUp reports whether an admin endpoint answers.
func adminUp(addr string) bool {
	resp, err := client.Get("http://" + addr + "/config/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
