package xds

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// CustomResource is a resource of a type the resource package has no view for: any
// message a management server hands out over ADS besides the five well-known ones. The
// client cannot check its meaning, only its shape: when the message type is linked into
// the program it is unmarshalled, its generated validation (if any) is run, and Proto
// returns it; otherwise it is kept as bytes for the consumer that knows the type.
type CustomResource struct {
	name    string
	typeURL string
	msg     proto.Message
	raw     []byte
}

// Name returns the resource name.
func (r *CustomResource) Name() string { return r.name }

// TypeURL returns the type URL of the resource's type.
func (r *CustomResource) TypeURL() string { return r.typeURL }

// Proto returns the decoded message, or nil when its type is not linked into the program.
// It is shared: do not modify it.
func (r *CustomResource) Proto() proto.Message { return r.msg }

// Raw returns the serialized resource as received. It is shared: do not modify it.
func (r *CustomResource) Raw() []byte { return r.raw }

// String names the resource without showing its content, which may be secret.
func (r *CustomResource) String() string {
	return fmt.Sprintf("%s %q", TypeURL(r.typeURL).MessageName(), r.name)
}

// generatedValidator is what protoc-gen-validate adds to a message.
type generatedValidator interface{ ValidateAll() error }

// decodeCustom decodes a resource of a custom type. wrapperName is the name the response
// gives it (delta always does; state of the world only in a Resource wrapper), which is
// the only name there is when the type is not linked in.
func decodeCustom(url TypeURL, raw []byte, wrapperName string) (resource.Resource, string, error) {
	r := &CustomResource{name: wrapperName, typeURL: string(url), raw: raw}
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(string(url))
	if err != nil {
		if wrapperName == "" {
			return nil, "", fmt.Errorf("type %s is not linked into this program and the response does not name the resource "+
				"(a server names it in delta, or in a Resource wrapper)", url.MessageName())
		}
		return r, wrapperName, nil
	}
	m := mt.New().Interface()
	name := wrapperName
	if err := proto.Unmarshal(raw, m); err != nil {
		return nil, name, fmt.Errorf("cannot unmarshal %s: %w", url.MessageName(), err)
	}
	if name == "" {
		name = nameField(m)
		if name == "" {
			return nil, "", fmt.Errorf("%s has no name field and the response does not name the resource", url.MessageName())
		}
	}
	if v, ok := m.(generatedValidator); ok {
		if err := v.ValidateAll(); err != nil {
			return nil, name, err
		}
	}
	r.name, r.msg = name, m
	return r, name, nil
}

// nameField reads the string field "name" that most xDS resources key themselves by.
func nameField(m proto.Message) string {
	fd := m.ProtoReflect().Descriptor().Fields().ByName("name")
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return ""
	}
	return m.ProtoReflect().Get(fd).String()
}
