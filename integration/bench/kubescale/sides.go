package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/caddymesh/caddymesh/integration/kubeharness"
)

// syncLimit bounds the wait for a process to sync.
const syncLimit = 3 * time.Minute

// kinds are the collections ours must show, in the order of counts.
var kinds = []string{"services", "endpointslices", "httproutes"}

const caddyfile = `{
	admin %s
	storage file_system %s
	persist_config off
	mesh {
		source kubernetes cluster {
			kubeconfig %s
			namespaces %s
			kinds %s
		}
	}
}
`

// startOurs runs the caddymesh binary with the kubernetes source on namespace ns, and
// returns once /mesh/collections shows every kind synced with want objects.
func startOurs(ctx context.Context, bin, kubeconfig, dir, ns string, want counts) (*process, error) {
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cf := filepath.Join(dir, "Caddyfile")
	body := fmt.Sprintf(caddyfile, admin, filepath.Join(dir, "storage"), kubeconfig, ns, strings.Join(kinds, " "))
	if err := os.WriteFile(cf, []byte(body), 0o644); err != nil {
		return nil, err
	}
	start := time.Now()
	p, err := startProcess(dir, []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "XDG_DATA_HOME=" + dir}, nil,
		bin, "run", "--config", cf, "--adapter", "caddyfile")
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(syncLimit)
	var last string
	for {
		if err := p.exited(); err != nil {
			return nil, err
		}
		if last = oursSynced(ctx, hc, admin, want); last == "" {
			p.synced = time.Since(start)
			return p, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.stop()
			return nil, fmt.Errorf("caddymesh not synced after %s: %s\n%s", syncLimit, last, p.out.tail(4000))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// oursSynced returns "" if the admin API shows every kind synced with want objects, or
// what it shows instead.
func oursSynced(ctx context.Context, hc *http.Client, admin string, want counts) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/mesh/collections", nil)
	if err != nil {
		return err.Error()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var body struct {
		Collections []struct {
			Name      string `json:"name"`
			Items     int    `json:"items"`
			Synced    bool   `json:"synced"`
			LastError string `json:"last_error"`
		} `json:"collections"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Sprintf("%s: %v", resp.Status, err)
	}
	rows := make(map[string]int)
	for _, c := range body.Collections {
		if c.Synced {
			rows[c.Name] = c.Items
		}
	}
	for i, kind := range kinds {
		if n, ok := rows["cluster/"+kind]; !ok || n != want[i] {
			return fmt.Sprintf("cluster/%s: synced %v with %d items, want %d", kind, ok, n, want[i])
		}
	}
	return ""
}

// startPeer runs the peer on namespace ns and returns once it has printed that it synced,
// with want objects.
func startPeer(ctx context.Context, bin, kubeconfig, dir, ns string, want counts) (*process, error) {
	lines := make(chan string, 16)
	start := time.Now()
	p, err := startProcess(dir, nil, lines, bin, "-kubeconfig", kubeconfig, "-namespace", ns)
	if err != nil {
		return nil, err
	}
	limit := time.NewTimer(syncLimit)
	defer limit.Stop()
	for {
		select {
		case line := <-lines:
			if !strings.HasPrefix(line, "synced") {
				continue
			}
			p.synced = time.Since(start)
			var got counts
			if _, err := fmt.Sscanf(line, "synced services=%d endpointslices=%d httproutes=%d", &got[0], &got[1], &got[2]); err != nil || got != want {
				p.stop()
				return nil, fmt.Errorf("peer: %q, want %v (%v)", line, want, err)
			}
			return p, nil
		case <-p.done:
			return nil, p.exited()
		case <-limit.C:
			p.stop()
			return nil, fmt.Errorf("peer not synced after %s\n%s", syncLimit, p.out.tail(4000))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		}
	}
}

// writeKubeconfig writes a kubeconfig for the cluster's admin, as a user would have one.
func writeKubeconfig(dir string, c *kubeharness.Cluster) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["harness"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthority: c.CAFile, TLSServerName: "kubernetes"}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.AdminToken}
	cfg.Contexts["harness"] = &clientcmdapi.Context{Cluster: "harness", AuthInfo: "admin"}
	cfg.CurrentContext = "harness"
	path := filepath.Join(dir, "kubeconfig")
	return path, clientcmd.WriteToFile(*cfg, path)
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
