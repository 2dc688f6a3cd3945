package envoyroute

import (
	"reflect"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// TestFold checks that folding two levels gives what applying them one after the other
// gives, for each pair of operations on the same header.
func TestFold(t *testing.T) {
	h := func(name, value string) table.Header { return table.Header{Name: name, Value: value} }
	tests := []struct {
		name    string
		a, b    *table.HeaderOps
		want    *table.HeaderOps
		wantNil bool
	}{
		{name: "both nil", wantNil: true},
		{name: "a only", a: &table.HeaderOps{Add: []table.Header{h("x", "1")}}, want: &table.HeaderOps{Add: []table.Header{h("x", "1")}}},
		{name: "b only", b: &table.HeaderOps{Remove: []string{"x"}}, want: &table.HeaderOps{Remove: []string{"x"}}},
		{
			name: "set then remove",
			a:    &table.HeaderOps{Set: []table.Header{h("x", "1")}},
			b:    &table.HeaderOps{Remove: []string{"X"}},
			want: &table.HeaderOps{Set: []table.Header{}, Add: []table.Header{}, Remove: []string{"X"}},
		},
		{
			name: "add then set",
			a:    &table.HeaderOps{Add: []table.Header{h("x", "1"), h("y", "2")}},
			b:    &table.HeaderOps{Set: []table.Header{h("X", "3")}},
			want: &table.HeaderOps{Set: []table.Header{h("X", "3")}, Add: []table.Header{h("y", "2")}, Remove: []string{}},
		},
		{
			name: "set then add",
			a:    &table.HeaderOps{Set: []table.Header{h("x", "1")}},
			b:    &table.HeaderOps{Add: []table.Header{h("x", "2")}},
			want: &table.HeaderOps{Set: []table.Header{h("x", "1")}, Add: []table.Header{h("x", "2")}, Remove: []string{}},
		},
		{
			name: "remove then add",
			a:    &table.HeaderOps{Remove: []string{"x"}},
			b:    &table.HeaderOps{Add: []table.Header{h("x", "2")}, Remove: []string{"x"}},
			want: &table.HeaderOps{Set: []table.Header{}, Add: []table.Header{h("x", "2")}, Remove: []string{"x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var aBefore table.HeaderOps
			if tt.a != nil {
				aBefore = cloneOps(*tt.a)
			}
			got := fold(tt.a, tt.b)
			if tt.wantNil {
				if got != nil {
					t.Fatalf("fold = %+v, want nil", got)
				}
				return
			}
			if !reflect.DeepEqual(normalizeOps(got), normalizeOps(tt.want)) {
				t.Errorf("fold = %+v, want %+v", got, tt.want)
			}
			if tt.a != nil && !reflect.DeepEqual(normalizeOps(tt.a), normalizeOps(&aBefore)) {
				t.Errorf("fold changed its first argument: %+v", tt.a)
			}
		})
	}
}

// TestHeaderOps checks the translation of one level's options, including the errors.
func TestHeaderOps(t *testing.T) {
	opt := func(key, value string, action corev3.HeaderValueOption_HeaderAppendAction) *corev3.HeaderValueOption {
		return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: key, Value: value}, AppendAction: action}
	}
	tests := []struct {
		name    string
		add     []*corev3.HeaderValueOption
		remove  []string
		want    *table.HeaderOps
		wantErr string
	}{
		{name: "nothing"},
		{
			name: "overwrite if exists is set, add if absent is add",
			add: []*corev3.HeaderValueOption{
				opt("a", "1", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS),
				opt("b", "2", corev3.HeaderValueOption_ADD_IF_ABSENT),
			},
			want: &table.HeaderOps{Set: []table.Header{{Name: "a", Value: "1"}}, Add: []table.Header{{Name: "b", Value: "2"}}},
		},
		{
			name: "legacy append false",
			add:  []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "a", Value: "1"}, Append: wrapperspb.Bool(false)}},
			want: &table.HeaderOps{Set: []table.Header{{Name: "a", Value: "1"}}},
		},
		{name: "only empty values", add: []*corev3.HeaderValueOption{opt("a", "", 0)}},
		{name: "unknown action", add: []*corev3.HeaderValueOption{opt("a", "1", 42)}, wantErr: "unknown append_action 42"},
		{name: "lone percent", add: []*corev3.HeaderValueOption{opt("a", "50%", 0)}, wantErr: "command operators"},
		{name: "control character", add: []*corev3.HeaderValueOption{opt("a", "x\x01y", 0)}, wantErr: "not a valid HTTP header value"},
		{name: "remove host", remove: []string{"Host"}, wantErr: `request_headers_to_remove[0]: header "Host" cannot be modified`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := headerOps("request_headers", tt.add, tt.remove)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalizeOps(got), normalizeOps(tt.want)) {
				t.Errorf("headerOps = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// normalizeOps makes empty and nil slices compare equal.
func normalizeOps(o *table.HeaderOps) *table.HeaderOps {
	if o == nil {
		return nil
	}
	n := cloneOps(*o)
	if len(n.Set) == 0 {
		n.Set = nil
	}
	if len(n.Add) == 0 {
		n.Add = nil
	}
	if len(n.Remove) == 0 {
		n.Remove = nil
	}
	return &n
}

func cloneOps(o table.HeaderOps) table.HeaderOps {
	return table.HeaderOps{
		Set:    append([]table.Header(nil), o.Set...),
		Add:    append([]table.Header(nil), o.Add...),
		Remove: append([]string(nil), o.Remove...),
	}
}
