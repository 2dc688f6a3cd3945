package gatewayapi

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// neverEmitted are the table fields and kinds the translation has no use for: they
// serve Envoy RouteConfigurations or later features. Everything else the table can hold
// must appear in at least one golden, so that no emitted field goes untested.
var neverEmitted = []string{
	// Envoy's per-virtual-host header operations and runtime_fraction match.
	"VirtualHost.RequestHeaders", "VirtualHost.ResponseHeaders", "Match.Fraction",
	"PathMatch.IgnoreCase", "StringMatch.IgnoreCase", "StringMatch.Invert",
	"Rewrite.Regex", "RegexRewrite.Pattern", "RegexRewrite.Substitution",
	"Redirect.StripQuery",
	"DirectResponse.Body",
	"Cluster.EDSName", "Cluster.LB", "Cluster.HashOn", "Cluster.ConnectTimeout",
	"PathKind=prefix",
	"StringKind=prefix", "StringKind=suffix", "StringKind=contains", "StringKind=present",
	"ClusterKind=eds",
}

// emittedKinds are the kind values the translation does use.
var emittedKinds = []string{
	"PathKind=exact", "PathKind=segment_prefix", "PathKind=regex",
	"StringKind=exact", "StringKind=regex",
	"ClusterKind=service", "ClusterKind=static",
}

// TestGoldensCoverTable checks that the goldens, together, set every field of the
// compiled route model the translation can emit, and every kind value it uses.
func TestGoldensCoverTable(t *testing.T) {
	seen := make(map[string]bool)
	for _, file := range goldenCases(t) {
		data, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".golden.json")
		if err != nil {
			t.Fatal(err)
		}
		var r Result
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, g := range r.Gateways {
			for _, p := range g.Ports {
				walkSet(reflect.ValueOf(p.Table), seen)
			}
		}
	}
	want := slices.Concat(tableFields(reflect.TypeFor[table.Table](), map[reflect.Type]bool{}), emittedKinds)
	for _, f := range want {
		if slices.Contains(neverEmitted, f) {
			if seen[f] {
				t.Errorf("%s is in a golden but listed as never emitted", f)
			}
			continue
		}
		if !seen[f] {
			t.Errorf("no golden sets %s", f)
		}
	}
}

// tableFields lists "Type.Field" for every field of the table types reachable from t.
func tableFields(t reflect.Type, visited map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return nil // RawHandler: a leaf
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[table.Table]().PkgPath() || visited[t] {
		return nil
	}
	visited[t] = true
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, t.Name()+"."+f.Name)
		out = append(out, tableFields(f.Type, visited)...)
	}
	return out
}

// walkSet records "Type.Field" for every non-zero field under v, and "Kind=value" for
// the kind enums.
func walkSet(v reflect.Value, seen map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkSet(v.Elem(), seen)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range v.Len() {
			walkSet(v.Index(i), seen)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			walkSet(v.MapIndex(k), seen)
		}
	case reflect.String:
		switch v.Type() {
		case reflect.TypeFor[table.PathKind](), reflect.TypeFor[table.StringKind](), reflect.TypeFor[table.ClusterKind]():
			seen[v.Type().Name()+"="+v.String()] = true
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Field(i)
			if !f.IsZero() {
				seen[v.Type().Name()+"."+v.Type().Field(i).Name] = true
			}
			walkSet(f, seen)
		}
	}
}
