package resource

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrUnsupportedType is the cause of a ValidationError for a type URL this package has no
// decoder for, so that a client can tell "not mine to decode" from "invalid".
var ErrUnsupportedType = errors.New("unsupported resource type")

// ErrWrongType is the cause of a ValidationError for a resource whose Any carries another
// kind than the one asked for, such as a Cluster in a listener response.
var ErrWrongType = errors.New("resource of the wrong type")

// ErrMalformed is the cause of a ValidationError for bytes that are not a valid protobuf
// encoding of the resource kind. The proto error itself is wrapped too.
var ErrMalformed = errors.New("malformed resource")

// maxReasons bounds the reasons one ValidationError keeps. A NACK's error_detail goes back
// to the management server and into logs; a resource with thousands of bad entries must not
// turn into a message of megabytes. The count of the reasons left out is still reported.
const maxReasons = 64

// ValidationError rejects one resource and says why, precisely enough for the ADS client
// to NACK it with an error_detail naming the resource and each problem, and for an operator
// to fix the control plane without reading Envoy's source.
type ValidationError struct {
	// TypeURL is the canonical type URL of the kind that was being decoded.
	TypeURL string
	// Name is the resource name, when it could be read (even from bytes that do not
	// unmarshal completely); "" otherwise.
	Name string
	// Reasons lists every problem found, each as "field.path: what is wrong": first the
	// resource's generated validation, then, in field order, the semantic checks and the
	// generated validation of the extension configs this package decodes (connection
	// managers, TLS contexts). A field gets one reason at most, and at most maxReasons
	// are kept, the last counting those left out.
	Reasons []string
	// Err is the underlying cause for errors.Is and errors.As: ErrUnsupportedType,
	// ErrWrongType, or an error wrapping ErrMalformed; nil when the resource decoded but
	// failed validation.
	Err error
}

// Error formats the rejection as
// `invalid Cluster "name": reason; reason`.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid ")
	b.WriteString(messageShortName(e.TypeURL))
	if e.Name != "" {
		b.WriteString(" ")
		b.WriteString(strconv.Quote(e.Name))
	}
	b.WriteString(": ")
	b.WriteString(strings.Join(e.Reasons, "; "))
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *ValidationError) Unwrap() error { return e.Err }

// path is a field path built lazily: decoders pass it down the tree of a resource and it is
// rendered only when a problem is reported, so that decoding a valid resource allocates no
// path strings.
type path struct {
	parent *path
	// field is the proto field name; "" for a path element that is only an index or key.
	field string
	// index is the position in a repeated field, or -1.
	index int
	// key is the key in a map field, used when index is -1 and key is not "".
	key string
}

// rootPath returns the path of a top-level field of a resource.
func rootPath(field string) path { return path{field: field, index: -1} }

// at returns the path of a field below p.
func (p *path) at(field string) path { return path{parent: p, field: field, index: -1} }

// item returns the path of element i of the repeated field p points to.
func (p *path) item(i int) path { return path{parent: p, index: i} }

// entry returns the path of the value under key in the map field p points to.
func (p *path) entry(key string) path { return path{parent: p, index: -1, key: key} }

// String renders the path as "filter_chains[0].filters[1].typed_config".
func (p *path) String() string {
	var b strings.Builder
	p.write(&b)
	return b.String()
}

// write renders the path root first. It recurses rather than collecting the elements in a
// slice, so that the elements, which live on the decoders' stacks, do not escape to the
// heap on every decode.
func (p *path) write(b *strings.Builder) {
	if p == nil {
		return
	}
	p.parent.write(b)
	switch {
	case p.field != "":
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p.field)
	case p.index >= 0:
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(p.index))
		b.WriteByte(']')
	case p.key != "":
		b.WriteByte('[')
		b.WriteString(p.key)
		b.WriteByte(']')
	}
}

// problems collects the reasons a resource is rejected while a decoder keeps going, so
// that one NACK reports everything wrong instead of the first thing found.
type problems struct {
	reasons []string
	dropped int
	// fields holds the paths already reported. Generated validation runs first, and a
	// semantic check of the same field (a duration, an enum) would only repeat it.
	fields map[string]struct{}
}

// addf records a problem at a field path, unless that field already has one. A nil path
// means the resource as a whole, which may have several.
func (ps *problems) addf(at *path, format string, args ...any) {
	where := ""
	if at != nil {
		where = at.String()
	}
	if where != "" {
		if _, dup := ps.fields[where]; dup {
			return
		}
		if ps.fields == nil {
			ps.fields = make(map[string]struct{})
		}
		ps.fields[where] = struct{}{}
	}
	if len(ps.reasons) >= maxReasons {
		ps.dropped++
		return
	}
	msg := fmt.Sprintf(format, args...)
	if where != "" {
		msg = where + ": " + msg
	}
	ps.reasons = append(ps.reasons, msg)
}

// ok reports whether no problem has been recorded.
func (ps *problems) ok() bool { return len(ps.reasons) == 0 }

// list returns the reasons, with a last one counting those dropped over maxReasons.
func (ps *problems) list() []string {
	if ps.dropped == 0 {
		return ps.reasons
	}
	return append(ps.reasons, fmt.Sprintf("and %d more problems", ps.dropped))
}
