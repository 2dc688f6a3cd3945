// Package kubeharness runs a real Kubernetes API server for tests: etcd and kube-apiserver,
// both built from their Go modules (see tools/), on loopback with random ports, with the
// Gateway API standard CRDs and the Meshlet CRDs installed.
//
// There is no controller-manager, scheduler or kubelet: tests create EndpointSlices and Pod
// statuses themselves, and deleted namespaces stay Terminating. Tests share one Cluster per
// test binary (start it in TestMain) and isolate themselves by namespace.
package kubeharness

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/connrotation"
)

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	// Dir holds the data, certificates and logs; it is removed by Stop unless the
	// environment variable KUBEHARNESS_KEEP is set.
	Dir string
	// Host is the API server's https://127.0.0.1:<port> address.
	Host string
	// CAFile is the API server's self-signed serving certificate, to verify it.
	CAFile string
	// AdminToken is a bearer token of a user in system:masters.
	AdminToken string
	// EtcdURL is etcd's client URL, http://127.0.0.1:<port>.
	EtcdURL string

	apiserverPath string
	apiserverArgs []string

	mu        sync.Mutex
	etcd      *process
	apiserver *process
}

// Start builds the binaries if needed, starts etcd and kube-apiserver, waits for the API
// server to be ready and installs the CRDs. The caller must call Stop.
func Start(ctx context.Context) (_ *Cluster, err error) {
	apiserverPath, etcdPath, err := Binaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kubeharness-")
	if err != nil {
		return nil, fmt.Errorf("creating the cluster folder: %w", err)
	}
	c := &Cluster{Dir: dir, apiserverPath: apiserverPath}
	defer func() {
		if err != nil {
			// The folder goes with Stop, so the logs go into the error.
			err = fmt.Errorf("%w\n--- etcd log (tail) ---\n%s\n--- kube-apiserver log (tail) ---\n%s",
				err, c.Logs("etcd", 2000), c.Logs("kube-apiserver", 4000))
			c.Stop()
		}
	}()
	if err := c.startEtcd(ctx, etcdPath); err != nil {
		return nil, err
	}
	if err := c.prepareAPIServer(); err != nil {
		return nil, err
	}
	if err := c.StartAPIServer(ctx); err != nil {
		return nil, err
	}
	if err := c.InstallCRDs(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) startEtcd(ctx context.Context, path string) error {
	clientPort, err := freePort()
	if err != nil {
		return err
	}
	peerPort, err := freePort()
	if err != nil {
		return err
	}
	c.EtcdURL = "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	p, err := startProcess(filepath.Join(c.Dir, "etcd.log"), path,
		"--name=harness",
		"--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls="+c.EtcdURL,
		"--advertise-client-urls="+c.EtcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=harness="+peerURL,
		"--log-level=warn",
		// Each test's writes are small; the defaults fsync on every one, which the
		// harness does not need.
		"--unsafe-no-fsync",
	)
	if err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	c.etcd = p
	return waitFor(ctx, p, 30*time.Second, func() error {
		resp, err := http.Get(c.EtcdURL + "/health")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("etcd health: %s", resp.Status)
		}
		return nil
	})
}

// prepareAPIServer writes the API server's token file and service-account key and fixes its
// command line, so that a restart reuses the same port, certificates and identity.
func (c *Cluster) prepareAPIServer() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Host = "https://127.0.0.1:" + strconv.Itoa(port)
	certDir := filepath.Join(c.Dir, "certs")
	c.CAFile = filepath.Join(certDir, "apiserver.crt")

	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return err
	}
	c.AdminToken = hex.EncodeToString(token)
	tokenFile := filepath.Join(c.Dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(c.AdminToken+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing the token file: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	keyFile := filepath.Join(c.Dir, "sa.key")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return fmt.Errorf("writing the service-account key: %w", err)
	}
	c.apiserverArgs = []string{
		"--etcd-servers=" + c.EtcdURL,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + certDir,
		"--token-auth-file=" + tokenFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + keyFile,
		"--service-account-signing-key-file=" + keyFile,
		"--api-audiences=https://kubernetes.default.svc.cluster.local",
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.96.0.0/16",
		// No controller-manager creates the "default" ServiceAccount that this plugin
		// requires of every Pod.
		"--disable-admission-plugins=ServiceAccount",
		// Tests compact etcd themselves, when they mean to.
		"--etcd-compaction-interval=0",
		// Watches of ConfigMaps and Services go straight to etcd, so that a compaction
		// forced through etcd expires them (410 Gone) as it would a watch cache's window
		// in a busy cluster. Other resources keep the cache, which sends bookmarks.
		"--watch-cache-sizes=configmaps#0,services#0",
		// Benchmarks create thousands of objects; a test cluster has no tenants to be fair
		// between.
		"--enable-priority-and-fairness=false",
		"--max-requests-inflight=0",
		"--max-mutating-requests-inflight=0",
		"--v=0",
	}
	return nil
}

// StartAPIServer starts kube-apiserver (again, after StopAPIServer) on the same address and
// waits until it is ready.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apiserver != nil {
		return errors.New("kube-apiserver is already running")
	}
	p, err := startProcess(filepath.Join(c.Dir, "kube-apiserver.log"), c.apiserverPath, c.apiserverArgs...)
	if err != nil {
		return fmt.Errorf("starting kube-apiserver: %w", err)
	}
	c.apiserver = p
	var hc *http.Client // made once the API server has written its certificate
	return waitFor(ctx, p, 90*time.Second, func() error {
		if hc == nil {
			if _, err := os.Stat(c.CAFile); err != nil {
				return err
			}
			if hc, err = rest.HTTPClientFor(c.Config()); err != nil {
				return err
			}
		}
		resp, err := hc.Get(c.Host + "/readyz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s: %s", resp.Status, bytes.TrimSpace(body))
		}
		return nil
	})
}

// StopAPIServer stops kube-apiserver, leaving etcd and the data in place.
func (c *Cluster) StopAPIServer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apiserver != nil {
		c.apiserver.stop()
		c.apiserver = nil
	}
}

// Stop stops both processes and removes the cluster's folder.
func (c *Cluster) Stop() {
	c.StopAPIServer()
	c.mu.Lock()
	if c.etcd != nil {
		c.etcd.stop()
		c.etcd = nil
	}
	c.mu.Unlock()
	if os.Getenv("KUBEHARNESS_KEEP") == "" {
		_ = os.RemoveAll(c.Dir)
	} else {
		fmt.Fprintf(os.Stderr, "kubeharness: kept %s\n", c.Dir)
	}
}

// Config returns a client configuration for the admin user. Each call returns a new copy.
func (c *Cluster) Config() *rest.Config {
	return c.ConfigWithToken(c.AdminToken)
}

// ConfigWithToken returns a client configuration that authenticates with a bearer token,
// such as a service account's.
func (c *Cluster) ConfigWithToken(token string) *rest.Config {
	return &rest.Config{
		Host:            c.Host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile, ServerName: "kubernetes"}, // a name in the self-signed certificate,
		QPS:             -1,                                                               // no client-side rate limit: the tests and benchmarks set the pace
	}
}

// ConfigWithDialer returns an admin configuration whose connections are the returned
// dialer's own: client-go then shares no cached transport with other clients, and
// dialer.CloseAll closes every connection the configuration opened, busy or idle, so a test
// can end with none of their reader goroutines left for goleak to find.
func (c *Cluster) ConfigWithDialer() (*rest.Config, *connrotation.Dialer) {
	cfg := c.Config()
	dialer := connrotation.NewDialer((&net.Dialer{Timeout: 30 * time.Second}).DialContext)
	cfg.Dial = dialer.DialContext
	return cfg, dialer
}

// Logs returns the tail of a process's log ("etcd" or "kube-apiserver"), for failures.
func (c *Cluster) Logs(name string, max int) string {
	b, err := os.ReadFile(filepath.Join(c.Dir, name+".log"))
	if err != nil {
		return err.Error()
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
	log  *os.File
}

func startProcess(logPath, path string, args ...string) (*process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so a stop reaches everything it started; and killed with the
	// test binary should that die without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{}), log: log}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// waitFor polls check until it succeeds, the process exits, or the time is up.
func waitFor(ctx context.Context, p *process, limit time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready: %v (see %s)", filepath.Base(p.cmd.Path), p.err, p.log.Name())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w", filepath.Base(p.cmd.Path), limit, last)
		case <-tick.C:
		}
	}
}

// freePort returns a loopback port that was free a moment ago. The processes take ports as
// flags, so the harness cannot hand them a listener; the window for a clash is tiny.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
