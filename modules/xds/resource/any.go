package resource

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// fullName returns the message name of m's type, the part of a type URL that identifies it.
func fullName(m proto.Message) protoreflect.FullName {
	return m.ProtoReflect().Descriptor().FullName()
}

// holds reports whether a carries a message of the same type as m. Envoy picks an
// extension's implementation by the type of its typed_config, not by the extension's name,
// which in v3 is free text; so does this package.
func holds(a *anypb.Any, m proto.Message) bool {
	return a != nil && messageName(a.GetTypeUrl()) == fullName(m)
}

// unpackNested decodes an extension config that this package interprets (an HTTP connection
// manager, a TLS context, HTTP protocol options) and validates it, recording problems at
// the path of the Any. The generated validation of the enclosing resource stops at the Any,
// so without this a malformed TLS context would be accepted. It reports whether m was
// unmarshalled; like a top-level resource, a nested config that fails validation is still
// built into its view so that its semantic problems are reported in the same NACK.
func unpackNested(ps *problems, at *path, a *anypb.Any, m message) bool {
	if err := proto.Unmarshal(a.GetValue(), m); err != nil {
		ps.addf(at, "cannot unmarshal %s: %v", fullName(m), err)
		return false
	}
	validateGenerated(ps, at, m)
	return true
}
