package kube

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeConfig is a loaded client configuration: where the API server is, how to
// authenticate to it, and the default namespace. It is immutable; RESTConfig returns a
// copy to build clients from.
type KubeConfig struct {
	rest      *rest.Config
	namespace string
	context   string
}

// RESTConfig returns a copy of the client-go configuration, for NewClient or client-go's
// own clientsets.
func (k *KubeConfig) RESTConfig() *rest.Config { return rest.CopyConfig(k.rest) }

// Namespace returns the default namespace: the context's, the service account's when in
// a cluster, or "default".
func (k *KubeConfig) Namespace() string { return k.namespace }

// Host returns the API server's URL.
func (k *KubeConfig) Host() string { return k.rest.Host }

// Context returns the name of the kubeconfig context used, or "" for a configuration that
// came from no kubeconfig file (in-cluster, FromEndpoint).
func (k *KubeConfig) Context() string { return k.context }

// LoadDefault loads the configuration kubectl would use: the current context of the
// files listed in $KUBECONFIG (a path list, merged with the first file winning), or of
// ~/.kube/config if $KUBECONFIG is empty. When none of those files exists it falls back
// to the in-cluster service account (see InCluster), so the same program runs on a
// laptop and in a Pod.
func LoadDefault() (*KubeConfig, error) { return load("", "") }

// LoadContext loads the named context from the same files as LoadDefault. It fails,
// naming the context, if no file defines it.
func LoadContext(name string) (*KubeConfig, error) {
	if name == "" {
		return nil, errors.New("loading a kubeconfig context: no context name")
	}
	return load("", name)
}

// LoadFile loads a kubeconfig file, in the named context or, if context is empty, its
// current one. An empty path means the default files, as LoadDefault and LoadContext do;
// a path that does not exist is an error, never a fallback.
func LoadFile(path, context string) (*KubeConfig, error) { return load(path, context) }

// load is LoadFile. With neither a path nor a context, and no kubeconfig file present, it
// falls back to the in-cluster service account.
func load(path, context string) (*KubeConfig, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	files := rules.GetLoadingPrecedence()
	if path == "" && !anyExists(files) {
		if context != "" {
			return nil, fmt.Errorf("loading kubeconfig context %q: no kubeconfig file (looked for %s)", context, strings.Join(files, ", "))
		}
		kc, err := inCluster(serviceAccountDir)
		if err != nil {
			return nil, fmt.Errorf("no kubeconfig file (looked for %s) and no in-cluster service account: %w", strings.Join(files, ", "), err)
		}
		return kc, nil
	}
	from := strings.Join(files, ", ")
	if path != "" {
		from = path
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", from, err)
	}
	name := raw.CurrentContext
	if context != "" {
		name = context
	}
	if name == "" {
		return nil, fmt.Errorf("loading kubeconfig %s: no current context is set, and none was asked for", from)
	}
	if _, ok := raw.Contexts[name]; !ok {
		return nil, fmt.Errorf("loading kubeconfig %s: context %q not found (have %s)", from, name, contextNames(raw))
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s, context %q: %w", from, name, err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s, context %q: %w", from, name, err)
	}
	return &KubeConfig{rest: cfg, namespace: ns, context: name}, nil
}

func anyExists(files []string) bool {
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

// contextNames lists a kubeconfig's contexts for an error message.
func contextNames(raw clientcmdapi.Config) string {
	if len(raw.Contexts) == 0 {
		return "none"
	}
	names := make([]string, 0, len(raw.Contexts))
	for n := range raw.Contexts {
		names = append(names, fmt.Sprintf("%q", n))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
