package envoyroute

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// produced is every JSON path of a table.Table this translator can produce ("[]" stands
// for the elements of a list of objects, "{}" for the values of a map). The goldens must
// show each one; TestTableFieldsAreAccountedFor makes sure a field added to the table is
// either added here (with a golden showing it) or to neverProduced.
var produced = []string{
	"name",
	"virtual_hosts", "virtual_hosts[].name", "virtual_hosts[].domains", "virtual_hosts[].routes",
	"virtual_hosts[].request_headers",
	"virtual_hosts[].request_headers.set", "virtual_hosts[].request_headers.set[].name", "virtual_hosts[].request_headers.set[].value",
	"virtual_hosts[].request_headers.add", "virtual_hosts[].request_headers.add[].name", "virtual_hosts[].request_headers.add[].value",
	"virtual_hosts[].request_headers.remove",

	"virtual_hosts[].routes[].name", "virtual_hosts[].routes[].match",
	"virtual_hosts[].routes[].match.path", "virtual_hosts[].routes[].match.path.kind",
	"virtual_hosts[].routes[].match.path.value", "virtual_hosts[].routes[].match.path.ignore_case",
	"virtual_hosts[].routes[].match.method",
	"virtual_hosts[].routes[].match.headers", "virtual_hosts[].routes[].match.headers[].name",
	"virtual_hosts[].routes[].match.headers[].kind", "virtual_hosts[].routes[].match.headers[].value",
	"virtual_hosts[].routes[].match.headers[].ignore_case", "virtual_hosts[].routes[].match.headers[].invert",
	"virtual_hosts[].routes[].match.query", "virtual_hosts[].routes[].match.query[].name",
	"virtual_hosts[].routes[].match.query[].kind", "virtual_hosts[].routes[].match.query[].value",
	"virtual_hosts[].routes[].match.query[].ignore_case",
	"virtual_hosts[].routes[].match.fraction", "virtual_hosts[].routes[].match.fraction.numerator",
	"virtual_hosts[].routes[].match.fraction.denominator",

	"virtual_hosts[].routes[].request_headers",
	"virtual_hosts[].routes[].request_headers.set", "virtual_hosts[].routes[].request_headers.set[].name", "virtual_hosts[].routes[].request_headers.set[].value",
	"virtual_hosts[].routes[].request_headers.add", "virtual_hosts[].routes[].request_headers.add[].name", "virtual_hosts[].routes[].request_headers.add[].value",
	"virtual_hosts[].routes[].request_headers.remove",
	"virtual_hosts[].routes[].response_headers",
	"virtual_hosts[].routes[].response_headers.set", "virtual_hosts[].routes[].response_headers.set[].name", "virtual_hosts[].routes[].response_headers.set[].value",
	"virtual_hosts[].routes[].response_headers.add", "virtual_hosts[].routes[].response_headers.add[].name", "virtual_hosts[].routes[].response_headers.add[].value",
	"virtual_hosts[].routes[].response_headers.remove",

	"virtual_hosts[].routes[].mirrors", "virtual_hosts[].routes[].mirrors[].cluster",
	"virtual_hosts[].routes[].mirrors[].fraction", "virtual_hosts[].routes[].mirrors[].fraction.numerator",
	"virtual_hosts[].routes[].mirrors[].fraction.denominator",

	"virtual_hosts[].routes[].forward", "virtual_hosts[].routes[].forward.backends",
	"virtual_hosts[].routes[].forward.backends[].cluster", "virtual_hosts[].routes[].forward.backends[].weight",
	"virtual_hosts[].routes[].forward.backends[].invalid",
	"virtual_hosts[].routes[].forward.backends[].request_headers",
	"virtual_hosts[].routes[].forward.backends[].request_headers.set", "virtual_hosts[].routes[].forward.backends[].request_headers.set[].name", "virtual_hosts[].routes[].forward.backends[].request_headers.set[].value",
	"virtual_hosts[].routes[].forward.backends[].request_headers.add", "virtual_hosts[].routes[].forward.backends[].request_headers.add[].name", "virtual_hosts[].routes[].forward.backends[].request_headers.add[].value",
	"virtual_hosts[].routes[].forward.backends[].request_headers.remove",
	"virtual_hosts[].routes[].forward.backends[].response_headers",
	"virtual_hosts[].routes[].forward.backends[].response_headers.set", "virtual_hosts[].routes[].forward.backends[].response_headers.set[].name", "virtual_hosts[].routes[].forward.backends[].response_headers.set[].value",
	"virtual_hosts[].routes[].forward.backends[].response_headers.add", "virtual_hosts[].routes[].forward.backends[].response_headers.add[].name", "virtual_hosts[].routes[].forward.backends[].response_headers.add[].value",
	"virtual_hosts[].routes[].forward.backends[].response_headers.remove",
	"virtual_hosts[].routes[].forward.rewrite", "virtual_hosts[].routes[].forward.rewrite.host",
	"virtual_hosts[].routes[].forward.rewrite.full_path", "virtual_hosts[].routes[].forward.rewrite.prefix_replacement",
	"virtual_hosts[].routes[].forward.rewrite.regex", "virtual_hosts[].routes[].forward.rewrite.regex.pattern",
	"virtual_hosts[].routes[].forward.rewrite.regex.substitution",
	"virtual_hosts[].routes[].forward.timeout", "virtual_hosts[].routes[].forward.backend_timeout",
	"virtual_hosts[].routes[].forward.retry", "virtual_hosts[].routes[].forward.retry.on",
	"virtual_hosts[].routes[].forward.retry.status_codes", "virtual_hosts[].routes[].forward.retry.num_retries",

	"virtual_hosts[].routes[].redirect", "virtual_hosts[].routes[].redirect.scheme",
	"virtual_hosts[].routes[].redirect.host", "virtual_hosts[].routes[].redirect.port",
	"virtual_hosts[].routes[].redirect.full_path", "virtual_hosts[].routes[].redirect.prefix_replacement",
	"virtual_hosts[].routes[].redirect.strip_query", "virtual_hosts[].routes[].redirect.status_code",
	"virtual_hosts[].routes[].direct_response", "virtual_hosts[].routes[].direct_response.status",
	"virtual_hosts[].routes[].direct_response.body",

	"clusters", "clusters{}.kind", "clusters{}.eds_name", "clusters{}.addresses", "clusters{}.lb",
	"clusters{}.hash_on", "clusters{}.connect_timeout", "clusters{}.h2c",
}

// neverProduced are the table's fields (with everything below them) that this translator
// never sets, and why.
var neverProduced = map[string]string{
	"virtual_hosts[].response_headers":              "the table applies them before the route's, Envoy after: they are folded into each route's",
	"virtual_hosts[].routes[].cors":                 "Envoy's CORS policy is a filter config (typed_per_filter_config), which is refused",
	"virtual_hosts[].routes[].extensions":           "Caddy handlers have no Envoy counterpart",
	"virtual_hosts[].routes[].match.query[].invert": "Envoy's query parameter matchers have no invert_match",
	"clusters{}.service":                            "Kubernetes Services come from the Gateway API translation",
}

// producedValues are values of enumerations that the goldens must each show, so that every
// mapping (path kinds, string kinds, denominators, status codes, policies) is exercised.
var producedValues = map[string][]string{
	"virtual_hosts[].routes[].match.path.kind":                {"exact", "prefix", "segment_prefix", "regex"},
	"virtual_hosts[].routes[].match.headers[].kind":           {"exact", "prefix", "suffix", "contains", "regex", "present"},
	"virtual_hosts[].routes[].match.query[].kind":             {"exact", "prefix", "suffix", "contains", "regex", "present"},
	"virtual_hosts[].routes[].match.fraction.denominator":     {"100", "10000", "1000000"},
	"virtual_hosts[].routes[].mirrors[].fraction.denominator": {"100", "10000"},
	"virtual_hosts[].routes[].redirect.status_code":           {"301", "302", "303", "307", "308"},
	"virtual_hosts[].routes[].redirect.scheme":                {"http", "https"},
	"clusters{}.kind": {"eds", "static"},
	"clusters{}.lb":   {"round_robin", "least_conn", "random", "hash"},
}

// TestTableFieldsAreAccountedFor checks that every field of table.Table is either produced
// (and so checked against the goldens) or explicitly never produced.
func TestTableFieldsAreAccountedFor(t *testing.T) {
	all := make(map[string]bool)
	typePaths(reflect.TypeOf(table.Table{}), "", all)
	want := make(map[string]bool, len(produced))
	for _, p := range produced {
		if want[p] {
			t.Errorf("%s is listed twice", p)
		}
		want[p] = true
	}
	for p := range all {
		if underNeverProduced(p) {
			continue
		}
		if !want[p] {
			t.Errorf("table field %s is neither in produced nor in neverProduced", p)
		}
	}
	for p := range want {
		if !all[p] {
			t.Errorf("produced lists %s, which the table does not have", p)
		}
	}
	for root := range neverProduced {
		if !all[root] {
			t.Errorf("neverProduced lists %s, which the table does not have", root)
		}
	}
}

// TestGoldensCoverEveryField checks that the goldens show every produced field and every
// produced value, and nothing else.
func TestGoldensCoverEveryField(t *testing.T) {
	seen := make(map[string]bool)
	values := make(map[string]map[string]bool)
	for _, file := range goldenInputs(t) {
		raw, err := os.ReadFile(goldenPath(file))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Table any `json:"table"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // so that 1000000 reads as "1000000", not 1e+06
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%s: %v", goldenPath(file), err)
		}
		jsonPaths(doc.Table, "", seen, values)
	}
	for _, p := range produced {
		if !seen[p] {
			t.Errorf("no golden shows %s", p)
		}
	}
	for p := range seen {
		if !slices.Contains(produced, p) {
			t.Errorf("a golden shows %s, which is not in produced", p)
		}
	}
	for p, vs := range producedValues {
		for _, v := range vs {
			if !values[p][v] {
				t.Errorf("no golden shows %s = %s", p, v)
			}
		}
	}
}

func underNeverProduced(p string) bool {
	for root := range neverProduced {
		if p == root || strings.HasPrefix(p, root+".") || strings.HasPrefix(p, root+"[]") || strings.HasPrefix(p, root+"{}") {
			return true
		}
	}
	return false
}

// typePaths lists the JSON paths of a type's fields, as jsonPaths names them.
func typePaths(ty reflect.Type, at string, out map[string]bool) {
	for ty.Kind() == reflect.Pointer {
		ty = ty.Elem()
	}
	if ty.Kind() != reflect.Struct {
		return
	}
	marshaler := reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	for i := 0; i < ty.NumField(); i++ {
		f := ty.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		p := joinPath(at, name)
		out[p] = true
		ft := f.Type
		if ft.Implements(marshaler) {
			continue
		}
		switch ft.Kind() {
		case reflect.Slice:
			if elem := derefType(ft.Elem()); elem.Kind() == reflect.Struct {
				typePaths(elem, p+"[]", out)
			}
		case reflect.Map:
			typePaths(ft.Elem(), p+"{}", out)
		default:
			typePaths(ft, p, out)
		}
	}
}

func derefType(ty reflect.Type) reflect.Type {
	for ty.Kind() == reflect.Pointer {
		ty = ty.Elem()
	}
	return ty
}

// mapPaths are the JSON objects that are maps rather than structs.
var mapPaths = map[string]bool{"clusters": true}

// jsonPaths records the paths of a decoded JSON value, and the values of scalars.
func jsonPaths(v any, at string, seen map[string]bool, values map[string]map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			p := joinPath(at, k)
			if mapPaths[at] {
				p = at + "{}"
			} else {
				seen[p] = true
			}
			jsonPaths(child, p, seen, values)
		}
	case []any:
		for _, child := range x {
			if _, obj := child.(map[string]any); obj {
				jsonPaths(child, at+"[]", seen, values)
			}
		}
	case nil:
	default:
		if values[at] == nil {
			values[at] = make(map[string]bool)
		}
		values[at][fmt.Sprint(x)] = true
	}
}

func joinPath(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}
