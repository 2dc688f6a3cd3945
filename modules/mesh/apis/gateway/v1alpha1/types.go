package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// HTTPFilter carries Caddy HTTP handlers for an HTTPRoute's ExtensionRef filter: a route
// rule that names it (group gateway.caddymesh.io, kind HTTPFilter) runs these handlers, in
// order, before its action. Any Caddy HTTP middleware compiled into the binary can be used,
// with the same JSON as in a Caddy config.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,path=httpfilters,singular=httpfilter
type HTTPFilter struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the handlers.
	Spec HTTPFilterSpec `json:"spec"`
}

// HTTPFilterSpec is the handlers an HTTPFilter runs.
type HTTPFilterSpec struct {
	// Handlers are Caddy HTTP handler configs, each an object with a "handler" key naming
	// the module (http.handlers.<name>), such as {"handler": "headers", ...}. Items are kept
	// as written: the schema cannot describe every Caddy module, so caddymesh checks the
	// "handler" key itself and ignores an HTTPFilter whose handlers lack one.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Handlers []runtime.RawExtension `json:"handlers"`
}

// HTTPFilterList is a list of HTTPFilters.
//
// +kubebuilder:object:root=true
type HTTPFilterList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the HTTPFilters.
	Items []HTTPFilter `json:"items"`
}
