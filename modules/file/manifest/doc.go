// Package manifest decodes files of Kubernetes-style YAML into the objects of the mesh data
// model (package model).
//
// It is pure translation, with no Caddy import and no I/O, so that the file source can stay a
// thin watcher and every rule here can be tested as a function. Decoding behaves like
// creating the objects on an API server with strict field validation: unknown fields are
// errors, and the defaults and validation of the API server (core kinds) or of the CRD schema
// (Gateway API kinds, Meshlet and HTTPFilter) are applied. A file source therefore stores
// the same objects a Kubernetes source would, and consumers cannot tell them apart. Secrets
// are read only when of type kubernetes.io/tls, as the Kubernetes source reads them; any
// other type is an error naming it.
//
// One bad document never hides the good ones: Decode returns every valid object of a file
// together with one Error per problem, each naming the file, the document and the field.
package manifest
