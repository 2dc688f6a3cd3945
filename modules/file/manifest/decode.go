package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// Object is one decoded object.
type Object struct {
	// Kind is the model collection kind the object belongs to (model.Services, ...).
	Kind string
	// Key is the object's collection key, model.Key(namespace, name).
	Key string
	// Obj is the typed object, defaulted and valid: *corev1.Service,
	// *discoveryv1.EndpointSlice, *corev1.Pod, *corev1.Namespace, *meshlessv1.Meshlet,
	// *gatewayv1.GatewayClass, *gatewayv1.Gateway, *gatewayv1.HTTPRoute,
	// *gatewayv1.TLSRoute, *gatewayv1.ReferenceGrant, *corev1.Secret (of type
	// kubernetes.io/tls only, with stringData merged into data) or
	// *gatewayv1alpha1.HTTPFilter. Its apiVersion and kind are the canonical ones whichever
	// accepted version the document used.
	Obj model.Object
	// Doc is the 0-based index of the document in its file. Items of a List share the
	// List's index.
	Doc int
}

// Decode decodes every document of one file. file is only used in errors. Valid objects are
// returned, in file order, even when other documents fail; each problem is one Error. A
// document that defines the same kind, namespace and name as an earlier one in the file is
// an error: the earlier one is kept.
func Decode(file string, data []byte) ([]Object, []*Error) {
	d := &decoder{file: file, seen: map[string]int{}}
	docs, streamErr := splitDocuments(data)
	for _, doc := range docs {
		d.document(doc)
	}
	if streamErr != nil {
		d.errs = append(d.errs, &Error{File: file, Doc: streamErr.index, Msg: streamErr.msg, Err: streamErr.err})
	}
	return d.objs, d.errs
}

// decoder holds the results of decoding one file.
type decoder struct {
	file string
	objs []Object
	errs []*Error
	// seen maps "collection kind/key" to the document that defined it first.
	seen map[string]int
}

// document decodes one document, which may be a List.
func (d *decoder) document(doc document) {
	js, err := yaml.YAMLToJSONStrict(doc.data)
	if err != nil {
		d.fail(doc.index, subject{}, "", "invalid YAML: "+yamlMessage(err), err)
		return
	}
	if isNull(js) {
		return // empty, comment-only or explicitly null: nothing to load
	}
	d.value(doc.index, "", js, true)
}

// header is read first, leniently, to choose the Go type for the strict decode and to name
// the object in errors even when the strict decode fails.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// value decodes one object, or a List when allowList is set. prefix is the object's path
// inside its document ("" or "items[3]").
func (d *decoder) value(doc int, prefix string, js []byte, allowList bool) {
	var h header
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &h); err != nil {
		d.failJSON(doc, prefix, subject{}, err)
		return
	}
	if h.APIVersion == coreGroupVersion && h.Kind == listKind {
		if !allowList {
			d.fail(doc, subject{}, joinField(prefix, "kind"), "a List may not contain another List", nil)
			return
		}
		d.list(doc, js)
		return
	}
	k, fe := lookupKind(h.APIVersion, h.Kind)
	if fe != nil {
		d.failField(doc, prefix, subject{}, fe)
		return
	}
	namespace := h.Metadata.Namespace
	if namespace == "" && k.namespaced {
		namespace = DefaultNamespace
	}
	name := h.Kind + " " + model.Key(namespace, h.Metadata.Name)
	about := subject{kind: k.collection, object: name}

	obj, strict, err := decodeObject(k, js)
	if err != nil {
		d.failJSON(doc, prefix, about, err)
		return
	}
	// Unknown fields reject the document, as on an API server with strict field
	// validation, but the rest is validated too so that one run reports every problem.
	failed := len(strict) > 0
	for _, err := range strict {
		d.failJSON(doc, prefix, about, err)
	}
	if fes := prepareObject(k, obj, js, h.APIVersion); len(fes) > 0 {
		failed = true
		sortFieldErrors(fes)
		for _, fe := range fes {
			d.failField(doc, prefix, about, fe)
		}
	}
	if failed {
		return
	}
	key := model.Key(obj.GetNamespace(), obj.GetName())
	id := k.collection + "/" + key
	if first, dup := d.seen[id]; dup {
		d.failField(doc, prefix, about, field.Duplicate(field.NewPath("metadata", "name"),
			fmt.Sprintf("%s is already defined in document %d", name, first)))
		return
	}
	d.seen[id] = doc
	d.objs = append(d.objs, Object{Kind: k.collection, Key: key, Obj: obj, Doc: doc})
}

// list decodes the items of a "kind: List" document one by one, so that a bad item does not
// hide the others.
func (d *decoder) list(doc int, js []byte) {
	var list struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   json.RawMessage   `json:"metadata,omitempty"`
		Items      []json.RawMessage `json:"items"`
	}
	strict, err := sigsjson.UnmarshalStrict(js, &list)
	about := subject{object: listKind}
	if err != nil {
		d.failJSON(doc, "", about, err)
		return
	}
	if len(strict) > 0 {
		for _, err := range strict {
			d.failJSON(doc, "", about, err)
		}
		return
	}
	for i, item := range list.Items {
		prefix := fmt.Sprintf("items[%d]", i)
		if isNull(item) {
			d.fail(doc, subject{}, prefix, "must be an object, not null", nil)
			continue
		}
		d.value(doc, prefix, item, false)
	}
}

// decodeObject decodes js strictly into a new object of kind k. err means js does not fit
// the Go type; strict lists the unknown and duplicate fields of a document that fits.
func decodeObject(k *kind, js []byte) (obj model.Object, strict []error, err error) {
	obj = k.new()
	strict, err = sigsjson.UnmarshalStrict(js, obj)
	if err != nil {
		return nil, nil, err
	}
	return obj, strict, nil
}

// prepareObject normalises the type, defaults and validates a decoded object, in the order
// an API server does: defaults first, so that validation sees the defaulted object.
func prepareObject(k *kind, obj model.Object, js []byte, apiVersion string) field.ErrorList {
	errs := requirePresent(js, k.required)
	obj.GetObjectKind().SetGroupVersionKind(k.gvk)
	version := apiVersion[strings.LastIndex(apiVersion, "/")+1:]
	errs = append(errs, prepareMeta(k, obj)...)
	return append(errs, k.prepare(obj, version)...)
}

// subject is what an error is about, as far as it is known.
type subject struct {
	kind   string // model collection kind
	object string // "Kind namespace/name"
}

func (d *decoder) fail(doc int, about subject, fieldPath, msg string, err error) {
	d.errs = append(d.errs, &Error{File: d.file, Doc: doc, Kind: about.kind, Object: about.object, Field: fieldPath, Msg: msg, Err: err})
}

func (d *decoder) failField(doc int, prefix string, about subject, fe *field.Error) {
	d.fail(doc, about, joinField(prefix, fe.Field), fe.ErrorBody(), fe)
}

// failJSON turns an error of the JSON decoder into an Error with the field path the
// decoder reports.
func (d *decoder) failJSON(doc int, prefix string, about subject, err error) {
	var typeErr *json.UnmarshalTypeError
	var fieldErr sigsjson.FieldError
	switch {
	case errors.As(err, &fieldErr):
		// Strict errors: "unknown field" or "duplicate field".
		msg, _, _ := strings.Cut(fieldErr.Error(), " \"")
		d.fail(doc, about, joinField(prefix, fieldErr.FieldPath()), msg, err)
	case errors.As(err, &typeErr) && typeErr.Field != "":
		d.fail(doc, about, joinField(prefix, typeErr.Field),
			fmt.Sprintf("Invalid value: must be %s, not %s", jsonTypeName(typeErr.Type), typeErr.Value), err)
	case errors.As(err, &typeErr):
		d.fail(doc, about, prefix, fmt.Sprintf("must be an object with apiVersion and kind, not %s", typeErr.Value), err)
	default:
		// A type's own decoder failed (a duration, a quantity, a time); it does not say
		// which field, only why.
		d.fail(doc, about, prefix, "Invalid value: "+err.Error(), err)
	}
}

// yamlLine matches the line numbers in YAML parser errors.
var yamlLine = regexp.MustCompile(`\bline (\d+)\b`)

// yamlMessage flattens a YAML parser error to one line and says that its line numbers
// count from the start of the document, not of the file: the parser only sees the
// document.
func yamlMessage(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	return yamlLine.ReplaceAllString(msg, "line $1 of the document")
}

// jsonTypeName names a Go type by the JSON value it accepts, for error messages that a
// person writing YAML understands.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	default:
		return "an integer of type " + t.Kind().String()
	}
}

// isNull reports whether a JSON value is null, which is what an empty or comment-only YAML
// document converts to.
func isNull(js []byte) bool { return bytes.Equal(bytes.TrimSpace(js), []byte("null")) }
