package manifest

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// FuzzDecode checks that Decode never panics and keeps its promises on any input: every
// object is keyed as the model says, every error points into the file, and a decoded
// object encodes to a document that decodes back to the same object without errors, so
// defaults are stable and never produce something validation rejects.
func FuzzDecode(f *testing.F) {
	for _, cases := range allCases() {
		for _, tc := range cases {
			f.Add([]byte(tc.yaml))
		}
	}
	f.Add([]byte(allKinds))
	f.Add([]byte("---\n---\n\xef\xbb\xbfapiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: a}\r\n"))
	f.Add([]byte("a: &a [*a]\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		objs, errs := Decode("fuzz.yaml", data)
		docs := strings.Count(string(data), "\n") + 1 // an upper bound on the documents
		for _, e := range errs {
			if e.File != "fuzz.yaml" || e.Doc < 0 || e.Doc > docs || e.Msg == "" {
				t.Fatalf("bad error %#v", e)
			}
			_ = e.Error()
		}
		for _, o := range objs {
			checkObject(t, o)
		}
	})
}

func checkObject(t *testing.T, o Object) {
	t.Helper()
	if o.Kind == "" || o.Obj == nil || o.Key != model.Key(o.Obj.GetNamespace(), o.Obj.GetName()) || o.Obj.GetName() == "" {
		t.Fatalf("bad object %#v", o)
	}
	obj := o.Obj.DeepCopyObject().(model.Object)
	if o.Kind == model.TLSRoutes {
		// A v1alpha2 TLSRoute keeps its laxer schema when stored as v1, as with the CRD's
		// conversion strategy None; re-encode it under the laxest version.
		obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Group: gatewayGroup, Version: gatewayV1alpha2, Kind: "TLSRoute"})
	}
	js, err := json.Marshal(obj)
	if err != nil {
		t.Fatalf("encoding %s %s: %v", o.Kind, o.Key, err)
	}
	again, errs := Decode("again.yaml", js)
	if len(errs) > 0 || len(again) != 1 {
		t.Fatalf("%s %s does not decode again: %d objects, errors:\n%s\nencoded: %s", o.Kind, o.Key, len(again), formatErrors(errs), js)
	}
	if !equality.Semantic.DeepEqual(o.Obj, again[0].Obj) {
		js2, _ := json.Marshal(again[0].Obj)
		t.Fatalf("%s %s changes when decoded again:\n first %s\nsecond %s", o.Kind, o.Key, js, js2)
	}
}
