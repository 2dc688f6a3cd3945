package gatewayapi

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
)

// namespaceNameLabel is the label the API server puts on every Namespace, holding its
// name. Namespace selectors commonly use it (the conformance suite does), so it is assumed
// even for namespaces missing from the input.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// index holds the referenced objects by "namespace/name", built once per translation so
// that resolving a reference is a map lookup rather than a scan of the input.
type index struct {
	services   map[string]*corev1.Service
	secrets    map[string]*corev1.Secret
	filters    map[string]*gatewayv1alpha1.HTTPFilter
	namespaces map[string]labels.Set
	grants     grantIndex
}

func key(namespace, name string) string { return namespace + "/" + name }

func newIndex(in *Input) *index {
	idx := &index{
		services:   make(map[string]*corev1.Service, len(in.Services)),
		secrets:    make(map[string]*corev1.Secret, len(in.Secrets)),
		filters:    make(map[string]*gatewayv1alpha1.HTTPFilter, len(in.HTTPFilters)),
		namespaces: make(map[string]labels.Set, len(in.Namespaces)),
		grants:     newGrantIndex(in.ReferenceGrants),
	}
	for _, s := range in.Services {
		if s != nil {
			idx.services[key(s.Namespace, s.Name)] = s
		}
	}
	for _, s := range in.Secrets {
		if s != nil {
			idx.secrets[key(s.Namespace, s.Name)] = s
		}
	}
	for _, f := range in.HTTPFilters {
		if f != nil {
			idx.filters[key(f.Namespace, f.Name)] = f
		}
	}
	for _, ns := range in.Namespaces {
		if ns == nil {
			continue
		}
		set := make(labels.Set, len(ns.Labels)+1)
		for k, v := range ns.Labels {
			set[k] = v
		}
		set[namespaceNameLabel] = ns.Name
		idx.namespaces[ns.Name] = set
	}
	return idx
}

// namespaceLabels returns a namespace's labels, or just its name label when the namespace
// is not known.
func (idx *index) namespaceLabels(namespace string) labels.Set {
	set, ok := idx.namespaces[namespace]
	if !ok {
		set = labels.Set{namespaceNameLabel: namespace}
		idx.namespaces[namespace] = set
	}
	return set
}
