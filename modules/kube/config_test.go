package kube

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/client-go/rest"
)

// whoAmI asks the API server who cfg authenticates as (a SelfSubjectReview), proving
// that the credentials cfg carries are the ones used.
func whoAmI(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	review, err := Create(testContext(t), c, &authenticationv1.SelfSubjectReview{}, CreateOptions{})
	if err != nil {
		t.Fatalf("asking who the configuration authenticates as: %v", err)
	}
	return review.Status.UserInfo.Username
}

// serviceAccount returns a token of a new service account and the user name it stands for.
func serviceAccount(t *testing.T, name string) (token, user string) {
	t.Helper()
	ns := newNamespace(t)
	token, err := cluster.ServiceAccountToken(testContext(t), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	return token, "system:serviceaccount:" + ns + ":" + name
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// kubeconfig writes a kubeconfig file: one cluster (the test cluster) and, per context,
// a user with the given token.
func kubeconfig(t *testing.T, path, current string, contexts ...struct{ name, token, namespace string }) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Config\ncurrent-context: %q\nclusters:\n- name: test\n  cluster:\n    server: %s\n    certificate-authority: %s\n    tls-server-name: kubernetes\n", current, cluster.Host, cluster.CAFile)
	b.WriteString("users:\n")
	for _, c := range contexts {
		fmt.Fprintf(&b, "- name: %s\n  user:\n    token: %s\n", c.name, c.token)
	}
	b.WriteString("contexts:\n")
	for _, c := range contexts {
		fmt.Fprintf(&b, "- name: %s\n  context:\n    cluster: test\n    user: %s\n    namespace: %q\n", c.name, c.name, c.namespace)
	}
	return writeFile(t, path, b.String(), 0o600)
}

type ctxDef = struct{ name, token, namespace string }

// TestLoadKubeconfig loads contexts from a $KUBECONFIG path list of two files (and a
// missing one), and checks each context's namespace and, against the real server, its
// credentials.
func TestLoadKubeconfig(t *testing.T) {
	saToken, saUser := serviceAccount(t, "viewer")
	dir := t.TempDir()
	first := kubeconfig(t, filepath.Join(dir, "first"), "admin",
		ctxDef{"admin", cluster.AdminToken, "team-a"},
		ctxDef{"viewer", saToken, ""},
	)
	second := kubeconfig(t, filepath.Join(dir, "second"), "extra", ctxDef{"extra", cluster.AdminToken, "team-x"})
	t.Setenv("KUBECONFIG", strings.Join([]string{filepath.Join(dir, "missing"), first, second}, string(os.PathListSeparator)))

	for _, tc := range []struct {
		name      string
		load      func() (*KubeConfig, error)
		context   string
		namespace string
		user      string
	}{
		{"LoadDefault: the first file's current context", LoadDefault, "admin", "team-a", "admin"},
		{"LoadContext: the other context", func() (*KubeConfig, error) { return LoadContext("viewer") }, "viewer", "default", saUser},
		{"LoadContext: a context of the second file", func() (*KubeConfig, error) { return LoadContext("extra") }, "extra", "team-x", "admin"},
		{"LoadFile: its current context", func() (*KubeConfig, error) { return LoadFile(second, "") }, "extra", "team-x", "admin"},
		{"LoadFile: a named context", func() (*KubeConfig, error) { return LoadFile(first, "viewer") }, "viewer", "default", saUser},
		{"LoadFile without a path: the default files", func() (*KubeConfig, error) { return LoadFile("", "") }, "admin", "team-a", "admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc, err := tc.load()
			if err != nil {
				t.Fatal(err)
			}
			if kc.Context() != tc.context || kc.Namespace() != tc.namespace || kc.Host() != cluster.Host {
				t.Errorf("context %q namespace %q host %q", kc.Context(), kc.Namespace(), kc.Host())
			}
			if got := whoAmI(t, kc.RESTConfig()); got != tc.user {
				t.Errorf("authenticated as %q, want %q", got, tc.user)
			}
		})
	}

	for _, tc := range []struct {
		name string
		load func() (*KubeConfig, error)
		want []string
	}{
		{"unknown context", func() (*KubeConfig, error) { return LoadContext("nope") }, []string{`context "nope" not found`, `"admin", "extra", "viewer"`}},
		{"context of another file", func() (*KubeConfig, error) { return LoadFile(second, "admin") }, []string{`context "admin" not found`, second}},
		{"missing file", func() (*KubeConfig, error) { return LoadFile(filepath.Join(dir, "missing"), "") }, []string{"missing"}},
		{"empty context name", func() (*KubeConfig, error) { return LoadContext("") }, []string{"no context name"}},
	} {
		_, err := tc.load()
		for _, want := range tc.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: want an error saying %s, got %v", tc.name, want, err)
			}
		}
	}

	// RESTConfig hands out copies.
	kc, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	kc.RESTConfig().BearerToken = "changed"
	if kc.RESTConfig().BearerToken != cluster.AdminToken {
		t.Error("RESTConfig returned the configuration itself, not a copy")
	}
}

// TestInCluster checks the in-cluster configuration, from a service account folder laid
// out as Kubernetes mounts it (token, ca.crt, namespace) and the service environment
// variables: directly, and as LoadDefault's fallback when no kubeconfig file exists.
func TestInCluster(t *testing.T) {
	token, user := serviceAccount(t, "pod")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "token"), token, 0o600)
	ca, err := os.ReadFile(cluster.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "ca.crt"), string(ca), 0o644)
	writeFile(t, filepath.Join(dir, "namespace"), "pod-ns\n", 0o644)
	u, err := url.Parse(cluster.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", u.Port())
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-such-kubeconfig"))
	old := serviceAccountDir
	serviceAccountDir = dir
	t.Cleanup(func() { serviceAccountDir = old })

	for name, load := range map[string]func() (*KubeConfig, error){"InCluster": InCluster, "LoadDefault": LoadDefault} {
		kc, err := load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cfg := kc.RESTConfig()
		if kc.Host() != "https://127.0.0.1:"+u.Port() || kc.Namespace() != "pod-ns" || kc.Context() != "" {
			t.Errorf("%s: host %q namespace %q context %q", name, kc.Host(), kc.Namespace(), kc.Context())
		}
		// The token stays a file, so that a rotated token is read again.
		if cfg.BearerTokenFile != filepath.Join(dir, "token") || cfg.TLSClientConfig.CAFile != filepath.Join(dir, "ca.crt") {
			t.Errorf("%s: token file %q, CA file %q", name, cfg.BearerTokenFile, cfg.TLSClientConfig.CAFile)
		}
		// The harness's self-signed certificate names only kubernetes, kubernetes.default
		// and kubernetes.default.svc, not the address the test reaches it at; in a cluster
		// the certificate names the service IP, and this is not needed.
		cfg.TLSClientConfig.ServerName = "kubernetes"
		if got := whoAmI(t, cfg); got != user {
			t.Errorf("%s: authenticated as %q, want %q", name, got, user)
		}
	}

	// A context asked for by name is never looked for in the cluster.
	if _, err := LoadContext("prod"); err == nil || !strings.Contains(err.Error(), `"prod"`) {
		t.Errorf("LoadContext without kubeconfig files: %v", err)
	}
	// Outside a cluster the error says so.
	serviceAccountDir = filepath.Join(dir, "absent")
	if _, err := LoadDefault(); !errors.Is(err, rest.ErrNotInCluster) {
		t.Errorf("no service account: want ErrNotInCluster, got %v", err)
	}
	serviceAccountDir = dir
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := InCluster(); !errors.Is(err, rest.ErrNotInCluster) {
		t.Errorf("no service address: want ErrNotInCluster, got %v", err)
	}
}

// execPlugin writes a credential plugin: a shell script that records its arguments and
// an environment variable, and prints an ExecCredential with token.
func execPlugin(t *testing.T, dir, token string) (command, record string) {
	t.Helper()
	record = filepath.Join(dir, "plugin-ran")
	script := fmt.Sprintf("#!/bin/sh\necho \"$* $PLUGIN_ENV\" > %q\nprintf '%%s\\n' %q\n", record,
		fmt.Sprintf(`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":%q}}`, token))
	return writeFile(t, filepath.Join(dir, "plugin.sh"), script, 0o755), record
}

// TestExecPlugin checks that an exec credential plugin's token is the one the API server
// sees, configured both in a kubeconfig file and through FromEndpoint.
func TestExecPlugin(t *testing.T) {
	t.Parallel()
	token, user := serviceAccount(t, "exec")
	dir := t.TempDir()
	command, record := execPlugin(t, dir, token)

	path := writeFile(t, filepath.Join(dir, "kubeconfig"), fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: exec
clusters:
- name: test
  cluster: {server: %s, certificate-authority: %s, tls-server-name: kubernetes}
users:
- name: exec
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: %s
      args: [from-file]
      env: [{name: PLUGIN_ENV, value: file-env}]
      interactiveMode: Never
contexts:
- name: exec
  context: {cluster: test, user: exec}
`, cluster.Host, cluster.CAFile, command), 0o600)
	fromFile, err := LoadFile(path, "")
	if err != nil {
		t.Fatal(err)
	}
	fromEndpoint, err := FromEndpoint(cluster.Host, Auth{
		CAFile: cluster.CAFile, TLSServerName: "kubernetes",
		Exec: &ExecAuth{Command: command, Args: []string{"from-endpoint"}, Env: map[string]string{"PLUGIN_ENV": "endpoint-env"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		kc     *KubeConfig
		record string
	}{{"kubeconfig file", fromFile, "from-file file-env"}, {"FromEndpoint", fromEndpoint, "from-endpoint endpoint-env"}} {
		if got := whoAmI(t, tc.kc.RESTConfig()); got != user {
			t.Errorf("%s: authenticated as %q, want the plugin's %q", tc.name, got, user)
		}
		ran, err := os.ReadFile(record)
		if err != nil || strings.TrimSpace(string(ran)) != tc.record {
			t.Errorf("%s: the plugin ran with %q, want %q (%v)", tc.name, ran, tc.record, err)
		}
	}
}

// TestFromEndpoint checks the token and server-verification options against the real
// server, and the combinations clientcmd refuses.
func TestFromEndpoint(t *testing.T) {
	t.Parallel()
	token, user := serviceAccount(t, "endpoint")
	dir := t.TempDir()
	tokenFile := writeFile(t, filepath.Join(dir, "token"), token, 0o600)
	ca, err := os.ReadFile(cluster.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		auth Auth
		user string
	}{
		{"token, CA file", Auth{Token: cluster.AdminToken, CAFile: cluster.CAFile, TLSServerName: "kubernetes"}, "admin"},
		{"token file, CA PEM", Auth{TokenFile: tokenFile, CAPEM: ca, TLSServerName: "kubernetes"}, user},
		{"token, insecure", Auth{Token: token, InsecureSkipVerify: true}, user},
	} {
		kc, err := FromEndpoint(cluster.Host, tc.auth)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if kc.Namespace() != "default" || kc.Host() != cluster.Host {
			t.Errorf("%s: namespace %q host %q", tc.name, kc.Namespace(), kc.Host())
		}
		if got := whoAmI(t, kc.RESTConfig()); got != tc.user {
			t.Errorf("%s: authenticated as %q, want %q", tc.name, got, tc.user)
		}
	}

	// A CA that did not sign the server's certificate fails the TLS handshake.
	otherCA, _ := selfSigned(t, "other-ca")
	kc, err := FromEndpoint(cluster.Host, Auth{Token: cluster.AdminToken, CAPEM: otherCA, TLSServerName: "kubernetes"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(kc.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := Create(testContext(t), c, &authenticationv1.SelfSubjectReview{}, CreateOptions{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an untrusted server: want a certificate error, got %v", err)
	}

	for _, tc := range []struct {
		name string
		url  string
		auth Auth
		want string
	}{
		{"no URL", "", Auth{Token: "t"}, "no URL"},
		{"missing token file", cluster.Host, Auth{TokenFile: filepath.Join(dir, "absent")}, "absent"},
		{"CA and insecure", cluster.Host, Auth{Token: "t", CAFile: cluster.CAFile, InsecureSkipVerify: true}, "InsecureSkipVerify"},
		{"token and certificate", cluster.Host, Auth{Token: "t", CertPEM: []byte("x"), KeyPEM: []byte("y")}, "more than one credential (Token, a client certificate)"},
		{"token and exec", cluster.Host, Auth{TokenFile: "t", Exec: &ExecAuth{Command: "x"}}, "more than one credential (TokenFile, Exec)"},
		{"certificate without key", cluster.Host, Auth{CertFile: filepath.Join(dir, "cert.pem")}, "client-key"},
	} {
		if _, err := FromEndpoint(tc.url, tc.auth); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error saying %q, got %v", tc.name, tc.want, err)
		}
	}
}

// selfSigned returns a new self-signed certificate and its key, PEM encoded.
func selfSigned(t *testing.T, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// TestClientCertificateConfig checks client-certificate configurations as far as the
// harness allows: its API server has no client CA, so a certificate is never checked, and
// the test stops at the TLS configuration client-go builds, which must present the
// certificate.
func TestClientCertificateConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t, "client")
	certFile := writeFile(t, filepath.Join(dir, "client.crt"), string(certPEM), 0o600)
	keyFile := writeFile(t, filepath.Join(dir, "client.key"), string(keyPEM), 0o600)
	_, otherKey := selfSigned(t, "other")

	fromFile, err := LoadFile(writeFile(t, filepath.Join(dir, "kubeconfig"), fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: cert
clusters: [{name: c, cluster: {server: %s, certificate-authority: %s}}]
users: [{name: u, user: {client-certificate: %s, client-key: %s}}]
contexts: [{name: cert, context: {cluster: c, user: u}}]
`, cluster.Host, cluster.CAFile, certFile, keyFile), 0o600), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		kc     func() (*KubeConfig, error)
		files  bool
		errHas string
	}{
		{"inline PEM", func() (*KubeConfig, error) {
			return FromEndpoint(cluster.Host, Auth{CertPEM: certPEM, KeyPEM: keyPEM, CAFile: cluster.CAFile})
		}, false, ""},
		{"files", func() (*KubeConfig, error) {
			return FromEndpoint(cluster.Host, Auth{CertFile: certFile, KeyFile: keyFile, CAFile: cluster.CAFile})
		}, true, ""},
		{"kubeconfig file", func() (*KubeConfig, error) { return fromFile, nil }, true, ""},
		{"mismatched key", func() (*KubeConfig, error) {
			return FromEndpoint(cluster.Host, Auth{CertPEM: certPEM, KeyPEM: otherKey, CAFile: cluster.CAFile})
		}, false, "private key does not match"},
	} {
		kc, err := tc.kc()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		cfg := kc.RESTConfig()
		if tc.files && (cfg.TLSClientConfig.CertFile != certFile || cfg.TLSClientConfig.KeyFile != keyFile) {
			t.Errorf("%s: cert file %q key file %q", tc.name, cfg.TLSClientConfig.CertFile, cfg.TLSClientConfig.KeyFile)
		}
		if !tc.files && string(cfg.TLSClientConfig.CertData) != string(certPEM) {
			t.Errorf("%s: the certificate data is not the one given", tc.name)
		}
		tlsConfig, err := rest.TLSConfigFor(cfg)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("%s: want an error saying %q, got %v", tc.name, tc.errHas, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		cert, err := tlsConfig.GetClientCertificate(nil)
		if err != nil || len(cert.Certificate) != 1 {
			t.Fatalf("%s: the TLS configuration presents no certificate: %v", tc.name, err)
		}
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil || leaf.Subject.CommonName != "client" {
			t.Errorf("%s: presents %v (%v)", tc.name, leaf.Subject, err)
		}
	}
}
