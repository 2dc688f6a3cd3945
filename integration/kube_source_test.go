package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/caddymesh/caddymesh/integration/kubeharness"
	"github.com/caddymesh/caddymesh/modules/mesh"
)

// writeKubeconfig writes a kubeconfig for the cluster's admin, as a user would have one.
func writeKubeconfig(t *testing.T, c *kubeharness.Cluster) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["harness"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthority: c.CAFile, TLSServerName: "kubernetes"}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.AdminToken}
	cfg.Contexts["harness"] = &clientcmdapi.Context{Cluster: "harness", AuthInfo: "admin"}
	cfg.CurrentContext = "harness"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKubernetesSourceInCaddy runs the kubernetes source inside Caddy against the real API
// server: its collections appear in /mesh/collections, synced and without errors, merged
// with the file source's; a reload that leaves it unchanged keeps its informers (the same
// collection, and no new list on the API server).
func TestKubernetesSourceInCaddy(t *testing.T) {
	cluster := sharedCluster(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx := context.Background()
	cs, closeIdle := adminClientset(t, cluster)
	defer closeIdle()
	ns := "caddy-source"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	in := newInstance(t)
	apps := map[string]any{"mesh": map[string]any{"sources": map[string]any{
		"cluster": map[string]any{
			"source":     "kubernetes",
			"kubeconfig": writeKubeconfig(t, cluster),
			"namespaces": []string{ns},
		},
	}}}
	in.load(apps)
	defer in.stop()
	eventually(t, 30*time.Second, func() string {
		rows, err := in.tryCollections()
		if err != nil {
			return err.Error()
		}
		for _, kind := range []string{"services", "endpointslices", "pods", "namespaces", "meshlets",
			"gatewayclasses", "gateways", "httproutes", "tlsroutes", "referencegrants"} {
			row, ok := rows["cluster/"+kind]
			if !ok {
				return "no collection cluster/" + kind
			}
			if !row.Synced || row.LastError != "" {
				return "cluster/" + kind + " not synced cleanly: " + row.LastError
			}
		}
		return wantCounts(rows, map[string]int{"cluster/services": 3, "merged/services": 3})
	})
	status, body := in.get("/mesh/collections/cluster/services?key=" + ns + "/b")
	if status != 200 {
		t.Fatalf("GET one service: %d %s", status, body)
	}

	// A reload that adds a source but leaves this one unchanged keeps its informers.
	before := kubeServices(t)
	listsBefore := apiserverListCount(t, cluster, "services")
	apps["mesh"].(map[string]any)["sources"].(map[string]any)["files"] =
		map[string]any{"source": "file", "paths": []string{copyDir(t, "../examples/quickstart/manifests")}}
	in.load(apps)
	if kubeServices(t) != before {
		t.Fatal("reload with an unchanged kubernetes source replaced its collection")
	}
	if after := apiserverListCount(t, cluster, "services"); after != listsBefore {
		t.Fatalf("reload with an unchanged kubernetes source listed services again (%v → %v)", listsBefore, after)
	}
}

// adminClientset returns a clientset on connections of its own, and a function that closes
// them (and their reader goroutines), for before goleak looks.
func adminClientset(t *testing.T, c *kubeharness.Cluster) (*kubernetes.Clientset, func()) {
	t.Helper()
	cfg, dialer := c.ConfigWithDialer()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, dialer.CloseAll
}

func kubeServices(t *testing.T) any {
	t.Helper()
	app, err := mesh.FromContext(caddy.ActiveContext())
	if err != nil {
		t.Fatal(err)
	}
	c, err := mesh.Get[*corev1.Service](app.Registry(), "cluster/services")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// apiserverListCount sums the API server's apiserver_request_total for LISTs of a
// resource, from its own /metrics: what every client, ours included, has asked of it.
func apiserverListCount(t *testing.T, c *kubeharness.Cluster, resource string) float64 {
	t.Helper()
	cs, closeIdle := adminClientset(t, c)
	defer closeIdle()
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") ||
			!strings.Contains(line, `resource="`+resource+`"`) || !strings.Contains(line, `verb="LIST"`) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// TestKubernetesSourceUnreachable: with no API server at the address, Caddy still starts,
// and /mesh/collections shows every collection unsynced with the reason.
func TestKubernetesSourceUnreachable(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["gone"] = &clientcmdapi.Cluster{Server: "https://" + freeAddr(t), InsecureSkipTLSVerify: true}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts["gone"] = &clientcmdapi.Context{Cluster: "gone", AuthInfo: "u"}
	cfg.CurrentContext = "gone"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	in := newInstance(t)
	in.load(map[string]any{"mesh": map[string]any{"sources": map[string]any{
		"gone": map[string]any{"source": "kubernetes", "kubeconfig": path, "kinds": []string{"services", "pods"}},
	}}})
	defer in.stop()
	eventually(t, 30*time.Second, func() string {
		rows := in.collections()
		for _, name := range []string{"gone/services", "gone/pods"} {
			row := rows[name]
			if row.Synced || !strings.Contains(row.LastError, "connection refused") {
				return fmt.Sprintf("%s: synced %v, last_error %q", name, row.Synced, row.LastError)
			}
		}
		return ""
	})
}
