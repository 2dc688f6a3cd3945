package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// meshModules are the module IDs the bundle must register.
var meshModules = []string{"mesh", "mesh.sources.file", "mesh.sources.xds", "admin.api.mesh", "layer4",
	"mesh.agents.gateway", "http.handlers.mesh_router", "http.reverse_proxy.upstreams.mesh", "admin.api.mesh_gateways"}

// buildBinary builds the custom binary from this repository's main package.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "caddymesh")
	cmd := exec.Command("go", "build", "-o", bin, "./xcaddy/caddymesh")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// listModules returns the module IDs a binary lists, sorted.
func listModules(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command(bin, "list-modules").Output()
	if err != nil {
		t.Fatalf("%s list-modules: %v", bin, err)
	}
	var ids []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.Contains(line, " ") {
			continue // blank lines and the "Standard modules: N" summaries
		}
		ids = append(ids, line)
	}
	slices.Sort(ids)
	return ids
}

// TestBinariesListMeshModules builds the bundle both ways, `go build ./xcaddy/caddymesh` and
// the xcaddy build users run, and checks they hold the same modules, every mesh module among
// them.
func TestBinariesListMeshModules(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Caddy twice")
	}
	goBuilt := listModules(t, buildBinary(t))
	for _, id := range meshModules {
		if !slices.Contains(goBuilt, id) {
			t.Errorf("go-built binary lacks module %q", id)
		}
	}

	xbin := filepath.Join(t.TempDir(), "caddymesh-xcaddy")
	cmd := exec.Command("./xcaddy/build.sh", xbin)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xcaddy build: %v\n%s", err, out)
	}
	xBuilt := listModules(t, xbin)
	if !slices.Equal(goBuilt, xBuilt) {
		for _, id := range goBuilt {
			if !slices.Contains(xBuilt, id) {
				t.Errorf("only the go-built binary has %q", id)
			}
		}
		for _, id := range xBuilt {
			if !slices.Contains(goBuilt, id) {
				t.Errorf("only the xcaddy-built binary has %q", id)
			}
		}
	}
}

// TestQuickstartProcess runs the README's quickstart as a real process, from its own folder
// with its own Caddyfile, and reads the collections over the admin API.
func TestQuickstartProcess(t *testing.T) {
	in := newInstance(t)
	manifests, env := quickstartPorts(t)
	runProcess(t, buildBinary(t), "../examples/quickstart", in, append(env, "CADDYMESH_MANIFESTS="+manifests)...)
	if msg := wantCounts(in.collections(), quickstartCounts); msg != "" {
		t.Fatal(msg)
	}
}

// quickstartPorts copies the quickstart's manifests with the Gateway's port moved to a
// free one, and returns the environment that moves the backends' ports.
func quickstartPorts(t *testing.T) (manifests string, env []string) {
	t.Helper()
	manifests = copyDir(t, "../examples/quickstart/manifests")
	gw := filepath.Join(manifests, "gateway.yaml")
	data, err := os.ReadFile(gw)
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(freePortOn(t, "127.0.0.1"))
	if err := os.WriteFile(gw, bytes.ReplaceAll(data, []byte("port: 8000"), []byte("port: "+port)), 0o644); err != nil {
		t.Fatal(err)
	}
	return manifests, []string{"FRONTEND_PORT=" + strconv.Itoa(freePortOn(t, "127.0.0.1")), "CATALOG_PORT=" + strconv.Itoa(freePortOn(t, "127.0.0.2", "127.0.0.3"))}
}

// TestQuickstartExample runs the README's quickstart command, examples/quickstart/run.sh,
// on free ports: curl through the Gateway reaches the right backends, a host without a
// route gets 404, and an edit of the HTTPRoute serves within a second (the script fails
// otherwise).
func TestQuickstartExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "./examples/quickstart/run.sh")
	cmd.Dir = ".."
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"GATEWAY_PORT="+strconv.Itoa(freePortOn(t, "127.0.0.1")),
		"FRONTEND_PORT="+strconv.Itoa(freePortOn(t, "127.0.0.1")),
		"CATALOG_PORT="+strconv.Itoa(freePortOn(t, "127.0.0.2", "127.0.0.3")),
		"ADMIN_PORT="+strconv.Itoa(freePortOn(t, "127.0.0.1")),
		"XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"/               -> frontend", "/catalog/items  -> catalog at 127.0.0.", "HTTP 404",
		`"type": "Accepted"`, "/products -> catalog at 127.0.0.", "/catalog -> frontend", "ms after the edit",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("run.sh output lacks %q:\n%s", want, out)
		}
	}
}

// TestXDSExampleProcess runs the xds example as its README does: the example's own
// go-control-plane server and caddymesh as separate processes, on free ports. The
// endpoints the control plane keeps moving must show up in the collection.
func TestXDSExampleProcess(t *testing.T) {
	cp := filepath.Join(t.TempDir(), "controlplane")
	build := exec.Command("go", "build", "-o", cp, "./examples/xds/controlplane")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the example control plane: %v\n%s", err, out)
	}
	xdsAddr := freeAddr(t)
	server := exec.Command(cp, "-listen", xdsAddr, "-every", "300ms")
	server.Stdout, server.Stderr = os.Stderr, os.Stderr
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = server.Process.Kill(); _ = server.Wait() }()

	in := newInstance(t)
	runProcess(t, buildBinary(t), "../examples/xds", in, "XDS_SERVER="+xdsAddr)
	eventually(t, 20*time.Second, func() string {
		return wantCounts(in.collections(), map[string]int{
			"cp/clusters": 1, "cp/clusterloadassignments": 1, "cp/routeconfigurations": 1,
		})
	})
	_, first := in.get("/mesh/collections/cp/clusterloadassignments?key=catalog")
	eventually(t, 10*time.Second, func() string {
		if _, now := in.get("/mesh/collections/cp/clusterloadassignments?key=catalog"); string(now) == string(first) {
			return "the endpoints did not move"
		}
		return ""
	})
}

// runProcess starts `bin run` in dir with the instance's admin address and a private home,
// waits for its admin endpoint, and stops it with SIGTERM when the test ends.
func runProcess(t *testing.T, bin, dir string, in *instance, env ...string) {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, "run")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CADDYMESH_ADMIN="+in.admin,
		"HOME="+home, "XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home)
	cmd.Env = append(cmd.Env, env...)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Error("caddymesh did not exit on SIGTERM")
		}
		if t.Failed() {
			t.Logf("caddymesh output:\n%s", logs.String())
		}
	})

	eventually(t, 30*time.Second, func() string {
		select {
		case err := <-exited:
			exited <- err
			return "caddymesh exited: " + errString(err)
		default:
		}
		if !adminUp(in.admin) {
			return "admin endpoint not up"
		}
		return ""
	})
}

func errString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
