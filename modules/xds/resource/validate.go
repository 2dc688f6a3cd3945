package resource

import (
	"strings"
	"unicode"
)

// generatedValidator is what go-control-plane's protoc-gen-validate code adds to every
// message. ValidateAll, unlike Validate, keeps going after the first violation.
type generatedValidator interface {
	ValidateAll() error
}

// fieldError is one violation reported by generated validation. The generated types are
// one per message (ListenerValidationError, ...), so they are matched by their methods.
type fieldError interface {
	Field() string
	Reason() string
	Cause() error
	Key() bool
}

// multiError is the list ValidateAll returns.
type multiError interface {
	AllErrors() []error
}

// embeddedReason is the reason generated validation gives when the violation is inside a
// nested message; the cause then holds the real violations.
const embeddedReason = "embedded message failed validation"

// validateGenerated runs the generated validation of m and records each violation as a
// problem at its full proto field path below at.
func validateGenerated(ps *problems, at *path, m generatedValidator) {
	if err := m.ValidateAll(); err != nil {
		flattenValidation(ps, at, err)
	}
}

// flattenValidation walks the tree of generated errors: a violation deep in a listener
// comes back as "invalid Listener.FilterChains[0]: embedded message failed validation |
// caused by: invalid FilterChain.Filters[0]: ...". A NACK reads much better as one line per
// leaf with the field path in proto names, such as
// "filter_chains[0].filters[0].name: value length must be at least 1 runes".
func flattenValidation(ps *problems, at *path, err error) {
	switch e := err.(type) {
	case multiError:
		for _, err := range e.AllErrors() {
			flattenValidation(ps, at, err)
		}
	case fieldError:
		here := at.at(snakeFieldPath(e.Field()))
		if e.Reason() == embeddedReason && e.Cause() != nil {
			flattenValidation(ps, &here, e.Cause())
			return
		}
		msg := e.Reason()
		if e.Key() {
			msg = "key: " + msg
		}
		if e.Cause() != nil {
			msg += ": " + e.Cause().Error()
		}
		ps.addf(&here, "%s", msg)
	default:
		ps.addf(at, "%v", err)
	}
}

// snakeFieldPath turns a generated field name ("FilterChains[0]", "TypedConfig") back into
// the proto field name the control plane author wrote ("filter_chains[0]",
// "typed_config"). Text inside brackets is a map key or index and is kept as is.
func snakeFieldPath(field string) string {
	var b strings.Builder
	b.Grow(len(field) + 4)
	depth := 0
	for i, r := range field {
		switch {
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth == 0 && unicode.IsUpper(r):
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
