package kube

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// DefaultServiceAccountDir is where Kubernetes mounts a Pod's service account: its token,
// the cluster's CA certificate (ca.crt) and the Pod's namespace.
const DefaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// serviceAccountDir is the folder InCluster and LoadDefault's fallback read. Tests point
// it at a folder of their own.
var serviceAccountDir = DefaultServiceAccountDir

// execAPIVersion is the ExecCredential version exec plugins speak unless told otherwise.
const execAPIVersion = "client.authentication.k8s.io/v1"

// Auth says how FromEndpoint authenticates to the API server and verifies it. Set one
// credential: a token, a token file, a client certificate, an exec plugin, or the service
// account. Several are an error (client-go would send some of them together), as are a
// CA and InsecureSkipVerify together (clientcmd would drop the CA without a word).
type Auth struct {
	// Token is a bearer token.
	Token string
	// TokenFile names a file holding a bearer token. client-go reads it again every
	// minute, so a rotated token (such as a projected service account token) is picked up.
	TokenFile string

	// CertFile and KeyFile name a PEM client certificate and its key. client-go reloads
	// them when they change.
	CertFile string
	KeyFile  string
	// CertPEM and KeyPEM are a client certificate and key, PEM encoded, given inline.
	CertPEM []byte
	KeyPEM  []byte

	// Exec runs a credential plugin for a token or certificate, as kubectl does.
	Exec *ExecAuth

	// ServiceAccount authenticates as the Pod's service account: the token file, CA
	// certificate and namespace in ServiceAccountDir. Another credential, CAFile, CAPEM or
	// InsecureSkipVerify, if set, replaces the folder's token or ca.crt.
	ServiceAccount bool
	// ServiceAccountDir is the service account folder; the default is
	// DefaultServiceAccountDir.
	ServiceAccountDir string

	// CAFile and CAPEM are the CA certificates that verify the API server. The default is
	// the system's roots.
	CAFile string
	CAPEM  []byte
	// TLSServerName is the name to verify the server's certificate against, when it
	// differs from the URL's host.
	TLSServerName string
	// InsecureSkipVerify does not verify the server's certificate. For tests only.
	InsecureSkipVerify bool
}

// ExecAuth is a credential plugin: a program that prints an ExecCredential (a token or a
// client certificate) on its standard output, such as a cloud provider's CLI. See
// clientcmdapi.ExecConfig; the plugin never gets a terminal here.
type ExecAuth struct {
	// Command is the program to run; a bare name is looked up in $PATH.
	Command string
	// Args are its arguments.
	Args []string
	// Env is added to the plugin's environment.
	Env map[string]string
	// APIVersion is the ExecCredential version the plugin speaks; the default is
	// client.authentication.k8s.io/v1.
	APIVersion string
	// InstallHint is shown in the error when Command is not found.
	InstallHint string
	// ProvideClusterInfo passes the cluster's details to the plugin in
	// $KUBERNETES_EXEC_INFO.
	ProvideClusterInfo bool
}

// FromEndpoint makes a configuration for the API server at url, authenticated as auth
// says. It goes through clientcmd, like a one-context kubeconfig file, so validation and
// behavior (token file reloading, exec plugin caching) are kubectl's. With
// auth.ServiceAccount, an empty url means the in-cluster address from
// $KUBERNETES_SERVICE_HOST and $KUBERNETES_SERVICE_PORT.
//
// The namespace is the service account's with auth.ServiceAccount, else "default".
func FromEndpoint(url string, auth Auth) (*KubeConfig, error) {
	if err := auth.check(); err != nil {
		return nil, fmt.Errorf("configuring %s: %w", url, err)
	}
	if url == "" {
		if !auth.ServiceAccount {
			return nil, errors.New("configuring an API server endpoint: no URL")
		}
		host, err := inClusterHost()
		if err != nil {
			return nil, err
		}
		url = host
	}
	cluster := &clientcmdapi.Cluster{
		Server:                   url,
		CertificateAuthority:     auth.CAFile,
		CertificateAuthorityData: auth.CAPEM,
		TLSServerName:            auth.TLSServerName,
		InsecureSkipTLSVerify:    auth.InsecureSkipVerify,
	}
	user := &clientcmdapi.AuthInfo{
		Token:                 auth.Token,
		TokenFile:             auth.TokenFile,
		ClientCertificate:     auth.CertFile,
		ClientKey:             auth.KeyFile,
		ClientCertificateData: auth.CertPEM,
		ClientKeyData:         auth.KeyPEM,
	}
	if auth.Exec != nil {
		user.Exec = auth.Exec.config()
	}
	namespace := "default"
	if auth.ServiceAccount {
		ns, err := useServiceAccount(auth.ServiceAccountDir, cluster, user)
		if err != nil {
			return nil, fmt.Errorf("configuring %s: %w", url, err)
		}
		namespace = ns
	}
	const name = "endpoint"
	raw := clientcmdapi.NewConfig()
	raw.Clusters[name] = cluster
	raw.AuthInfos[name] = user
	raw.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: namespace}
	raw.CurrentContext = name
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("configuring %s: %w", url, err)
	}
	return &KubeConfig{rest: cfg, namespace: namespace}, nil
}

// check refuses ambiguous combinations.
func (a Auth) check() error {
	var creds []string
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"Token", a.Token != ""},
		{"TokenFile", a.TokenFile != ""},
		{"a client certificate", a.CertFile != "" || a.KeyFile != "" || len(a.CertPEM) > 0 || len(a.KeyPEM) > 0},
		{"Exec", a.Exec != nil},
	} {
		if c.set {
			creds = append(creds, c.name)
		}
	}
	if len(creds) > 1 {
		return fmt.Errorf("more than one credential (%s): set one", strings.Join(creds, ", "))
	}
	if a.InsecureSkipVerify && (a.CAFile != "" || len(a.CAPEM) > 0) {
		return errors.New("a CA and InsecureSkipVerify: set one")
	}
	return nil
}

// InCluster configures the client of a program running in a Pod: the API server's
// in-cluster address from the environment, and the Pod's service account token, CA and
// namespace from DefaultServiceAccountDir. It is what rest.InClusterConfig returns, plus
// the namespace, built through FromEndpoint.
func InCluster() (*KubeConfig, error) { return inCluster(serviceAccountDir) }

func inCluster(dir string) (*KubeConfig, error) {
	return FromEndpoint("", Auth{ServiceAccount: true, ServiceAccountDir: dir})
}

// inClusterHost returns the API server's address as Kubernetes tells a Pod.
func inClusterHost() (string, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return "", fmt.Errorf("%w: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set", rest.ErrNotInCluster)
	}
	return "https://" + net.JoinHostPort(host, port), nil
}

// useServiceAccount points cluster and user at a service account folder and returns its
// namespace. The token stays a file, so that client-go follows its rotation.
func useServiceAccount(dir string, cluster *clientcmdapi.Cluster, user *clientcmdapi.AuthInfo) (string, error) {
	if dir == "" {
		dir = DefaultServiceAccountDir
	}
	token := filepath.Join(dir, "token")
	if _, err := os.Stat(token); err != nil {
		return "", fmt.Errorf("%w: no service account token: %w", rest.ErrNotInCluster, err)
	}
	if user.Token == "" && user.TokenFile == "" {
		user.TokenFile = token
	}
	if cluster.CertificateAuthority == "" && len(cluster.CertificateAuthorityData) == 0 && !cluster.InsecureSkipTLSVerify {
		cluster.CertificateAuthority = filepath.Join(dir, "ca.crt")
	}
	ns, err := os.ReadFile(filepath.Join(dir, "namespace"))
	if err != nil {
		return "", fmt.Errorf("reading the service account's namespace: %w", err)
	}
	return strings.TrimSpace(string(ns)), nil
}

// config converts the plugin into clientcmd's form.
func (e *ExecAuth) config() *clientcmdapi.ExecConfig {
	apiVersion := e.APIVersion
	if apiVersion == "" {
		apiVersion = execAPIVersion
	}
	names := make([]string, 0, len(e.Env))
	for n := range e.Env {
		names = append(names, n)
	}
	slices.Sort(names) // a stable order, so equal configs share client-go's plugin cache
	env := make([]clientcmdapi.ExecEnvVar, 0, len(names))
	for _, n := range names {
		env = append(env, clientcmdapi.ExecEnvVar{Name: n, Value: e.Env[n]})
	}
	return &clientcmdapi.ExecConfig{
		Command:            e.Command,
		Args:               e.Args,
		Env:                env,
		APIVersion:         apiVersion,
		InstallHint:        e.InstallHint,
		ProvideClusterInfo: e.ProvideClusterInfo,
		// A server process has no terminal to prompt on.
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}
}
