package v1alpha1

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func raw(s string) runtime.RawExtension { return runtime.RawExtension{Raw: []byte(s)} }

// validFilter returns an HTTPFilter with two handlers, so each test case breaks one thing.
func validFilter() *HTTPFilter {
	return &HTTPFilter{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "add-header"},
		Spec: HTTPFilterSpec{Handlers: []runtime.RawExtension{
			raw(`{"handler": "headers", "response": {"set": {"X-Mesh": ["caddymesh"]}}}`),
			raw(`{"handler":"encode"}`),
		}},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(f *HTTPFilter)
		// want lists "field: substring" pairs; empty means valid.
		want []string
	}{
		{name: "valid", modify: func(*HTTPFilter) {}},
		{name: "sixteen handlers", modify: func(f *HTTPFilter) {
			f.Spec.Handlers = nil
			for range MaxHandlers {
				f.Spec.Handlers = append(f.Spec.Handlers, raw(`{"handler":"vars"}`))
			}
		}},
		{name: "built in Go", modify: func(f *HTTPFilter) {
			f.Spec.Handlers = []runtime.RawExtension{{Object: &runtime.Unknown{Raw: []byte(`{"handler":"vars"}`)}}}
		}},
		{
			name:   "no handlers",
			modify: func(f *HTTPFilter) { f.Spec.Handlers = nil },
			want:   []string{"spec.handlers: Required value"},
		},
		{
			name: "seventeen handlers",
			modify: func(f *HTTPFilter) {
				for len(f.Spec.Handlers) <= MaxHandlers {
					f.Spec.Handlers = append(f.Spec.Handlers, raw(`{"handler":"vars"}`))
				}
			},
			want: []string{"spec.handlers: Too many: 17: must have at most 16 items"},
		},
		{
			name:   "not an object",
			modify: func(f *HTTPFilter) { f.Spec.Handlers[1] = raw(`["encode"]`) },
			want:   []string{`spec.handlers[1]: Invalid value: "[\"encode\"]": must be a JSON object`},
		},
		{
			name:   "null",
			modify: func(f *HTTPFilter) { f.Spec.Handlers[0] = runtime.RawExtension{} },
			want:   []string{"spec.handlers[0]: Invalid value: \"null\": must be a JSON object"},
		},
		{
			name:   "malformed JSON",
			modify: func(f *HTTPFilter) { f.Spec.Handlers[0] = raw(`{"handler":`) },
			want:   []string{"spec.handlers[0]: Invalid value", "must be a JSON object"},
		},
		{
			name:   "no handler key",
			modify: func(f *HTTPFilter) { f.Spec.Handlers[0] = raw(`{"response": {}}`) },
			want:   []string{`spec.handlers[0]: Invalid value`, `must have a "handler" key`},
		},
		{
			name:   "handler not a string",
			modify: func(f *HTTPFilter) { f.Spec.Handlers[0] = raw(`{"handler": 7}`) },
			want:   []string{`"handler" must be a string, not 7`},
		},
		{
			name:   "handler null",
			modify: func(f *HTTPFilter) { f.Spec.Handlers[0] = raw(`{"handler": null}`) },
			want:   []string{`"handler" must be a string, not null`},
		},
		{
			name:   "handler empty",
			modify: func(f *HTTPFilter) { f.Spec.Handlers[1] = raw(`{"handler": ""}`) },
			want:   []string{`spec.handlers[1]: Invalid value`, `"handler" must not be empty`},
		},
		{
			name:   "missing namespace",
			modify: func(f *HTTPFilter) { f.Namespace = "" },
			want:   []string{"metadata.namespace: Required"},
		},
		{
			name:   "bad name",
			modify: func(f *HTTPFilter) { f.Name = "Add_Header" },
			want:   []string{"metadata.name: Invalid value"},
		},
		{
			name: "every handler reported",
			modify: func(f *HTTPFilter) {
				f.Spec.Handlers = []runtime.RawExtension{raw(`1`), raw(`{}`)}
			},
			want: []string{"spec.handlers[0]: Invalid value", "spec.handlers[1]: Invalid value"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := validFilter()
			tc.modify(f)
			errs := f.Validate()
			if len(tc.want) == 0 {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs.ToAggregate())
				}
				return
			}
			got := errs.ToAggregate()
			if got == nil {
				t.Fatalf("want errors %q, got none", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("errors %q lack %q", got.Error(), w)
				}
			}
		})
	}
}

func TestHandlerName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{`{"handler":"headers"}`, "headers"},
		{"  {\"x\": 1, \"handler\": \"reverse_proxy\"}\n", "reverse_proxy"},
		{`{"handler":""}`, ""},
		{`"headers"`, ""},
	} {
		got, err := HandlerName(raw(tc.in))
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("HandlerName(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
