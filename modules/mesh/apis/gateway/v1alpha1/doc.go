// Package v1alpha1 defines caddymesh's Gateway API extensions (gateway.caddymesh.io/v1alpha1).
//
// HTTPFilter is the target of an HTTPRoute rule's ExtensionRef filter (group
// gateway.caddymesh.io, kind HTTPFilter): it carries Caddy HTTP handlers, in Caddy's own
// JSON, that run before the rule's action. The type is defined once, here, so that every
// source (manifest files, the Kubernetes API, tests) decodes into the same Go struct, and
// the CustomResourceDefinition is generated from the same markers that Validate enforces in
// Go.
//
// +kubebuilder:object:generate=true
// +groupName=gateway.caddymesh.io
package v1alpha1

//go:generate go run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0 object paths=./...
