package kubeharness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// Versions of the binaries the harness runs. The tools/ modules pin the same versions; change
// both together. The cache is keyed by them, so a bump rebuilds.
const (
	KubeVersion = "v1.37.2"
	EtcdVersion = "v3.6.16"
)

// CacheEnv names the environment variable that overrides the folder the binaries are cached
// in. The default is caddymesh/kube under the user's cache folder (~/.cache on Linux).
const CacheEnv = "CADDYMESH_KUBE_CACHE"

// binary is one program the harness builds from a module in tools/.
type binary struct {
	name    string // the executable's name
	version string
	module  string   // the folder under tools/ holding its go.mod
	args    []string // go build arguments after -o
}

var (
	apiserverBinary = binary{
		name: "kube-apiserver", version: KubeVersion, module: "kube-apiserver",
		args: []string{"-ldflags", "-X k8s.io/component-base/version.gitVersion=" + KubeVersion, "k8s.io/kubernetes/cmd/kube-apiserver"},
	}
	etcdBinary = binary{name: "etcd", version: EtcdVersion, module: "etcd", args: []string{"."}}
)

// CacheDir returns the folder the binaries are cached in.
func CacheDir() (string, error) {
	if dir := os.Getenv(CacheEnv); dir != "" {
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache folder (set %s): %w", CacheEnv, err)
	}
	return filepath.Join(base, "caddymesh", "kube"), nil
}

// Binaries returns the paths of kube-apiserver and etcd, building them into the cache first
// if they are not there. A cold build of kube-apiserver takes about 6 minutes on 2 cores;
// later calls return at once. Concurrent callers (test binaries of several packages run in
// parallel by go test) wait for one build under a file lock.
func Binaries() (apiserver, etcd string, err error) {
	if etcd, err = ensure(etcdBinary); err != nil {
		return "", "", err
	}
	if apiserver, err = ensure(apiserverBinary); err != nil {
		return "", "", err
	}
	return apiserver, etcd, nil
}

func ensure(b binary) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, fmt.Sprintf("%s-%s-%s-%s", b.name, b.version, runtime.GOOS, runtime.GOARCH))
	path := filepath.Join(dir, b.name)
	if isExecutable(path) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the cache folder: %w", err)
	}
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExecutable(path) { // built by another process while we waited for the lock
		return path, nil
	}
	src, err := toolsDir(b.module)
	if err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	cmd := exec.Command("go", append([]string{"build", "-trimpath", "-o", tmp}, b.args...)...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	start := time.Now()
	fmt.Fprintf(os.Stderr, "kubeharness: building %s %s into %s (a cold build takes minutes; it is cached)\n", b.name, b.version, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s %s: %w\n%s", b.name, b.version, err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("installing %s: %w", b.name, err)
	}
	fmt.Fprintf(os.Stderr, "kubeharness: built %s in %s\n", b.name, time.Since(start).Round(time.Second))
	return path, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// lockFile takes an exclusive flock on path, waiting for it.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the build lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// repoDir returns the root of the caddymesh source tree, found from this file's path: the
// harness only runs from source, in tests.
func repoDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("kubeharness: cannot locate its source folder")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("kubeharness: the caddymesh source tree is not at %s: %w", root, err)
	}
	return root, nil
}

func toolsDir(module string) (string, error) {
	root, err := repoDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "integration", "kubeharness", "tools", module), nil
}
