package v1alpha1

import (
	"bytes"
	"encoding/json"
	"fmt"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of an HTTPFilter's handler list, as in the CRD schema.
const (
	MinHandlers = 1
	MaxHandlers = 16
)

// HandlerKey is the key of a handler config that names its Caddy module
// (http.handlers.<name>), as in Caddy's own JSON.
const HandlerKey = "handler"

// Validate reports every way f breaks the HTTPFilter rules, so that sources that do not go
// through an API server (manifest files, tests) reject what an API server would, and so that
// the Kubernetes source can skip what the CRD schema cannot catch (a handler without a
// "handler" key). It checks the object metadata too: the namespace must be set.
func (f *HTTPFilter) Validate() field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&f.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, f.Spec.Validate(field.NewPath("spec"))...)
}

// Validate reports every way s breaks the HTTPFilter schema; path is where s sits in its
// object, usually "spec". Each handler must be a JSON object whose "handler" is a non-empty
// string, and there must be between MinHandlers and MaxHandlers of them. Whether the named
// module exists is not checked here: that depends on the binary that loads it.
func (s *HTTPFilterSpec) Validate(path *field.Path) field.ErrorList {
	p := path.Child("handlers")
	var errs field.ErrorList
	switch n := len(s.Handlers); {
	case n < MinHandlers:
		errs = append(errs, field.Required(p, fmt.Sprintf("must list at least %d handler", MinHandlers)))
	case n > MaxHandlers:
		errs = append(errs, field.TooMany(p, n, MaxHandlers))
	}
	for i, h := range s.Handlers {
		if _, err := HandlerName(h); err != nil {
			errs = append(errs, field.Invalid(p.Index(i), shortJSON(h.Raw), err.Error()))
		}
	}
	return errs
}

// HandlerName returns the module name a handler config gives under "handler", or why it
// gives none: the config is not a JSON object, or its "handler" is missing, not a string or
// empty. A config built in Go (Object set, Raw empty) is encoded first.
func HandlerName(h runtime.RawExtension) (string, error) {
	raw := h.Raw
	if len(raw) == 0 && h.Object != nil {
		var err error
		if raw, err = json.Marshal(h.Object); err != nil {
			return "", fmt.Errorf("encoding the handler config: %w", err)
		}
	}
	var obj map[string]json.RawMessage
	if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &obj) != nil {
		return "", fmt.Errorf("must be a JSON object with a %q key", HandlerKey)
	}
	name, ok := obj[HandlerKey]
	if !ok {
		return "", fmt.Errorf("must have a %q key naming the Caddy HTTP handler module", HandlerKey)
	}
	var s string
	if err := json.Unmarshal(name, &s); err != nil || bytes.Equal(name, []byte("null")) {
		return "", fmt.Errorf("%q must be a string, not %s", HandlerKey, shortJSON(name))
	}
	if s == "" {
		return "", fmt.Errorf("%q must not be empty", HandlerKey)
	}
	return s, nil
}

// shortJSON returns raw as a string for an error message, cut to a readable length.
func shortJSON(raw []byte) string {
	const limit = 80
	if len(raw) == 0 {
		return "null"
	}
	if len(raw) > limit {
		return string(raw[:limit]) + "..."
	}
	return string(raw)
}
