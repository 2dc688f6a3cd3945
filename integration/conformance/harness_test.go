package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/conformance"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/caddymesh/caddymesh/integration/kubeharness"
)

// baseNamespaces are the namespaces of the suite's base manifests.
var baseNamespaces = []string{"gateway-conformance-infra", "gateway-conformance-app-backend", "gateway-conformance-web-backend"}

// harness is everything the suite runs against: the API server, the stand-in kubelet, the log
// proxy and the caddymesh process.
type harness struct {
	cluster    *kubeharness.Cluster
	admin      *rest.Config // straight to the API server
	cs         kubernetes.Interface
	kubelet    *kubelet
	proxy      *apiProxy
	gateway    *meshGateway
	kubeconfig string
}

// startHarness builds the binaries, starts the cluster, the kubelet stand-in, the log proxy
// and caddymesh, applies the base manifests and checks the backends answer. Any failure fails
// the test: a harness that cannot start must not pass for a green run.
func startHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	start := time.Now()
	var (
		wg                    sync.WaitGroup
		caddymeshBin, echoBin string
		buildErr, echoErr     error
	)
	wg.Go(func() { caddymeshBin, buildErr = goBuild(dir, "caddymesh", "./xcaddy/caddymesh") })
	wg.Go(func() {
		echoBin, echoErr = goBuild(dir, "echo-basic", "sigs.k8s.io/gateway-api/conformance/echo-basic")
	})
	cluster := sharedCluster(t)
	wg.Wait()
	if err := errors.Join(buildErr, echoErr); err != nil {
		t.Fatal(err)
	}
	progress("harness: cluster %s and binaries ready in %s", cluster.Host, time.Since(start).Round(time.Millisecond))

	h := &harness{cluster: cluster, admin: cluster.Config()}
	hc, err := rest.HTTPClientFor(h.admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { utilnet.CloseIdleConnectionsFor(hc.Transport) })
	if h.cs, err = kubernetes.NewForConfigAndClient(h.admin, hc); err != nil {
		t.Fatal(err)
	}
	h.kubeconfig = writeKubeconfig(t, cluster, filepath.Join(dir, "kubeconfig"))

	hostIP, err := hostAddress()
	if err != nil {
		t.Fatal(err)
	}
	h.kubelet = newKubelet(h.cs, echoBin, filepath.Join(dir, "pods"), hostIP, progress)
	if err := h.kubelet.Start(); err != nil {
		t.Fatalf("starting the kubelet stand-in: %v", err)
	}
	t.Cleanup(h.kubelet.Stop)

	if h.proxy, err = newAPIProxy(cluster, h.kubelet.Logs); err != nil {
		t.Fatalf("starting the API proxy: %v", err)
	}
	t.Cleanup(h.proxy.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := h.createGatewayClass(ctx, hc); err != nil {
		t.Fatal(err)
	}
	gwDir := filepath.Join(dir, "gateway")
	if err := os.MkdirAll(gwDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if h.gateway, err = startGateway(ctx, caddymeshBin, gwDir, h.kubeconfig); err != nil {
		t.Fatalf("starting caddymesh: %v", err)
	}
	t.Cleanup(func() {
		h.gateway.Stop()
		if t.Failed() {
			t.Logf("caddymesh log (tail):\n%s", h.gateway.LogTail(200))
		}
	})

	if err := h.applyBase(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.checkBackends(ctx); err != nil {
		t.Fatalf("the echo backends are not serving: %v", err)
	}
	if err := h.gatewaysSettled(ctx); err != nil {
		t.Fatal(err)
	}
	progress("harness: ready in %s; %d backend pods, caddymesh admin at %s", time.Since(start).Round(time.Millisecond), len(h.kubelet.Pods()), h.gateway.admin)
	return h
}

// goBuild builds a main package of this module (or its dependencies) into dir.
func goBuild(dir, name, pkg string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// repoRoot is the module root: two folders up from this package.
func repoRoot() (string, error) {
	return filepath.Abs(filepath.Join("..", ".."))
}

// writeKubeconfig writes a kubeconfig for the cluster's admin, for the caddymesh process.
func writeKubeconfig(t *testing.T, c *kubeharness.Cluster, path string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["harness"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthority: c.CAFile, TLSServerName: "kubernetes"}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.AdminToken}
	cfg.Contexts["harness"] = &clientcmdapi.Context{Cluster: "harness", AuthInfo: "admin"}
	cfg.CurrentContext = "harness"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// createGatewayClass creates the GatewayClass the suite tests, owned by caddymesh.
func (h *harness) createGatewayClass(ctx context.Context, hc *http.Client) error {
	gw, err := gatewayclient.NewForConfigAndClient(h.admin, hc)
	if err != nil {
		return err
	}
	gwc := &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: gatewayClass},
		Spec: gatewayv1.GatewayClassSpec{
			ControllerName: controllerName,
			Description:    new("caddymesh under the Gateway API conformance suite"),
		},
	}
	_, err = gw.GatewayV1().GatewayClasses().Create(ctx, gwc, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating GatewayClass %s: %w", gatewayClass, err)
	}
	return nil
}

// applyBase applies the suite's base manifests as its Setup will (the class name filled in),
// so the backends start while caddymesh comes up. Setup applies them again over these.
func (h *harness) applyBase(ctx context.Context) error {
	data, err := conformance.Manifests.ReadFile("base/manifests.yaml")
	if err != nil {
		return err
	}
	data = bytes.ReplaceAll(data, []byte("{GATEWAY_CLASS_NAME}"), []byte(gatewayClass))
	a, err := h.cluster.NewApplier()
	if err != nil {
		return err
	}
	defer a.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("decoding base/manifests.yaml: %w", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if _, err := a.Apply(ctx, obj, false); err != nil {
			return fmt.Errorf("applying base %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
	}
}

// checkBackends waits until every base Pod that is not waiting for a Secret (Setup creates
// those) is Ready, then checks what the suite will rely on: the EndpointSlice of
// infra-backend-v1 lists both its Pods, each answers as itself at its slice address, and its
// log reads back through the proxy.
func (h *harness) checkBackends(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var last error
	for {
		if last = h.backendsReady(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			var b strings.Builder
			for _, p := range h.kubelet.Pods() {
				fmt.Fprintf(&b, "\n  %s/%s %s: %s", p.Namespace, p.Name, p.IP, p.State)
			}
			return fmt.Errorf("%w; pods:%s", last, b.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (h *harness) backendsReady(ctx context.Context) error {
	n := 0
	for _, p := range h.kubelet.Pods() {
		if !isBase(p.Namespace) || strings.HasPrefix(p.State, "pending: waiting for") {
			continue
		}
		if !p.Ready {
			return fmt.Errorf("pod %s/%s is %s", p.Namespace, p.Name, p.State)
		}
		n++
	}
	if n < 10 {
		return fmt.Errorf("only %d base pods ready", n)
	}
	const ns, svc = "gateway-conformance-infra", "infra-backend-v1"
	eps, err := h.cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return err
	}
	if len(eps.Items) != 2 {
		return fmt.Errorf("%d EndpointSlices for %s, want one per pod, 2", len(eps.Items), svc)
	}
	cs, err := kubernetes.NewForConfig(h.proxy.Config(h.cluster.AdminToken))
	if err != nil {
		return err
	}
	var pods []string
	for _, s := range eps.Items {
		var port int32
		for _, p := range s.Ports {
			if p.Name != nil && *p.Name == "first-port" && p.Port != nil {
				port = *p.Port
			}
		}
		if port == 0 || len(s.Endpoints) != 1 {
			return fmt.Errorf("EndpointSlice %s: first-port %d, %d endpoints; want a port and 1", s.Name, port, len(s.Endpoints))
		}
		ep := s.Endpoints[0]
		if ep.Conditions.Ready == nil || !*ep.Conditions.Ready {
			return fmt.Errorf("endpoint %v not ready", ep.Addresses)
		}
		pod := ep.TargetRef.Name
		pods = append(pods, pod)
		got, err := echoAnswers(ctx, net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(port))))
		if err != nil {
			return err
		}
		if got != pod {
			return fmt.Errorf("the endpoint of %s answered as %q", pod, got)
		}
		since := metav1.NewTime(time.Now().Add(-time.Hour))
		raw, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: svc, SinceTime: &since}).DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("reading the log of %s through the proxy: %w", pod, err)
		}
		if !strings.Contains(string(raw), "Echoing back request made to /harness-check") {
			return fmt.Errorf("the log of %s lacks the check request:\n%s", pod, raw)
		}
	}
	// The container port published on the Pod address reaches one of the Pods.
	shim := net.JoinHostPort(eps.Items[0].Endpoints[0].Addresses[0], "3000")
	pod, err := echoAnswers(ctx, shim)
	if err != nil {
		return err
	}
	if !slices.Contains(pods, pod) {
		return fmt.Errorf("%s answered as %q, not as a pod of %s (%v)", shim, pod, svc, pods)
	}
	return nil
}

// echoAnswers sends GET /harness-check to an echo backend and returns the pod it answers as.
func echoAnswers(ctx context.Context, addr string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/harness-check", nil)
	if err != nil {
		return "", err
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", addr, err)
	}
	defer resp.Body.Close()
	var echo struct {
		Pod string `json:"pod"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&echo); err != nil {
		return "", fmt.Errorf("GET %s: decoding: %w", addr, err)
	}
	return echo.Pod, nil
}

func isBase(ns string) bool { return slices.Contains(baseNamespaces, ns) }

// gatewaysSettled waits until caddymesh has written the status of every base Gateway for
// its current generation and then left them alone for a second. The suite's Setup
// updates the base Gateways with a read and a write (not server-side apply); a status
// write landing between the two makes it fail with a conflict, so Setup starts only once
// the controller is quiet.
func (h *harness) gatewaysSettled(ctx context.Context) error {
	gc, err := gatewayclient.NewForConfig(h.admin)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	lastVersions, quietSince := "", time.Now()
	for {
		versions, settled := "", true
		for _, ns := range baseNamespaces {
			list, err := gc.GatewayV1().Gateways(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, gw := range list.Items {
				versions += gw.Namespace + "/" + gw.Name + "@" + gw.ResourceVersion + " "
				programmed := false
				for _, c := range gw.Status.Conditions {
					if c.Type == "Programmed" && c.ObservedGeneration == gw.Generation {
						programmed = true
					}
				}
				settled = settled && programmed && len(gw.Status.Listeners) == len(gw.Spec.Listeners)
			}
		}
		if versions != lastVersions {
			lastVersions, quietSince = versions, time.Now()
		}
		if settled && time.Since(quietSince) >= time.Second {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the base Gateways did not settle: %s", versions)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
