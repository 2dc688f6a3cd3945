package manifest

import (
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Error is one problem with one document of a manifest file. It says where the problem is
// precisely enough for a person to fix it without counting lines: the file, the document,
// the object (when the document got far enough to name one) and the field.
type Error struct {
	// File is the file name given to Decode.
	File string
	// Doc is the 0-based index of the document in the file, counting every "---"-separated
	// document, including empty and comment-only ones that decode to nothing.
	Doc int
	// Kind is the model collection kind (model.Services, ...) of the document, when its
	// apiVersion and kind were recognised, so that a source can report the error on the
	// collection it concerns; "" otherwise.
	Kind string
	// Object names the object, as "Kind namespace/name", when its kind and name were read.
	Object string
	// Field is the path of the offending field, such as "spec.ports[0].port", or "" when
	// the document as a whole is wrong (for example, a YAML syntax error).
	Field string
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error, if any, for errors.Is and errors.As.
	Err error
}

// Error formats the problem as
// "file: document N (Kind namespace/name): field: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	b.WriteString(": document ")
	b.WriteString(strconv.Itoa(e.Doc))
	if e.Object != "" {
		b.WriteString(" (")
		b.WriteString(e.Object)
		b.WriteString(")")
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// sortFieldErrors orders errors that share a field by message, keeping the order of
// validation otherwise. Validators that range over maps (labels, annotations, selectors)
// report in random order; this makes the output of Decode stable, so that logs and tests
// see the same errors in the same order for the same input.
func sortFieldErrors(errs field.ErrorList) {
	for start := 0; start < len(errs); {
		end := start + 1
		for end < len(errs) && errs[end].Field == errs[start].Field {
			end++
		}
		slices.SortStableFunc(errs[start:end], func(a, b *field.Error) int {
			return strings.Compare(a.ErrorBody(), b.ErrorBody())
		})
		start = end
	}
}

// joinField prefixes a field path with the path of the list item it was found in.
func joinField(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	default:
		return prefix + "." + path
	}
}
