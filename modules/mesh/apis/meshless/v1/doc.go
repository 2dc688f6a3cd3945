// Package v1 defines the Meshlet API (meshless.caddymesh.io/v1).
//
// A Meshlet is a logical workload in the meshless model: a client that uses services of other
// meshlets, a server that provides services to them, or both. The type is defined once, here,
// so that every source (manifest files, the Kubernetes API, tests) decodes into the same Go
// struct and the CustomResourceDefinition is generated from the same markers that Validate
// enforces in Go.
//
// Documents written for the original Meshless project use apiVersion
// ext.burningxflame.github.com/v1; they have the same shape and are registered under
// CompatGroupVersion so that they decode into these types too.
//
// +kubebuilder:object:generate=true
// +groupName=meshless.caddymesh.io
package v1

//go:generate go run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0 object paths=./...
