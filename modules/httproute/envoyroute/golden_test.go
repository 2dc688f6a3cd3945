package envoyroute

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenInputs lists the test inputs: testdata/*.yaml, each with a .golden.json next to it.
func goldenInputs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no inputs in testdata: %v", err)
	}
	return files
}

// goldenPath is the golden file of an input.
func goldenPath(input string) string {
	return strings.TrimSuffix(input, ".yaml") + ".golden.json"
}

// loadInput reads an input file: YAML with a route_configuration (a RouteConfiguration in
// protojson form) and a list of clusters (Clusters in protojson form, keyed by name).
func loadInput(t testing.TB, file string) Input {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var doc struct {
		RouteConfiguration json.RawMessage   `json:"route_configuration"`
		Clusters           []json.RawMessage `json:"clusters"`
	}
	if err := json.Unmarshal(j, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	in := Input{Clusters: make(map[string]*clusterv3.Cluster)}
	if len(doc.RouteConfiguration) > 0 && string(doc.RouteConfiguration) != "null" {
		in.RouteConfiguration = new(routev3.RouteConfiguration)
		if err := protojson.Unmarshal(doc.RouteConfiguration, in.RouteConfiguration); err != nil {
			t.Fatalf("%s: route_configuration: %v", file, err)
		}
	}
	for i, c := range doc.Clusters {
		pb := new(clusterv3.Cluster)
		if err := protojson.Unmarshal(c, pb); err != nil {
			t.Fatalf("%s: clusters[%d]: %v", file, i, err)
		}
		in.Clusters[pb.GetName()] = pb
	}
	return in
}

// render is what the goldens hold: the table and the error strings.
func render(t testing.TB, tbl *table.Table, errs []error) []byte {
	t.Helper()
	out := struct {
		Table  *table.Table `json:"table"`
		Errors []string     `json:"errors,omitempty"`
	}{Table: tbl}
	for _, err := range errs {
		out.Errors = append(out.Errors, err.Error())
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden translates every input in testdata and compares the table and errors with
// its golden file; -update rewrites the goldens. It also checks that a translation is
// deterministic and leaves its input unchanged.
func TestGolden(t *testing.T) {
	for _, file := range goldenInputs(t) {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			in := loadInput(t, file)
			before := cloneInput(in)
			tbl, errs := Translate(in)
			got := render(t, tbl, errs)
			tbl2, errs2 := Translate(in)
			if again := render(t, tbl2, errs2); !bytes.Equal(got, again) {
				t.Errorf("a second translation differs:\n%s", diffLines(got, again))
			}
			if !inputEqual(before, in) {
				t.Error("Translate changed its input")
			}
			golden := goldenPath(file)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (run with -update to accept):\n%s", golden, diffLines(want, got))
			}
		})
	}
}

// TestNilRouteConfiguration checks that a missing route configuration is an error and no
// table.
func TestNilRouteConfiguration(t *testing.T) {
	tbl, errs := Translate(Input{})
	if tbl != nil || len(errs) != 1 || errs[0] != errNoRouteConfiguration {
		t.Fatalf("Translate(Input{}) = %v, %v; want nil and %v", tbl, errs, errNoRouteConfiguration)
	}
}

func cloneInput(in Input) Input {
	out := Input{Clusters: make(map[string]*clusterv3.Cluster, len(in.Clusters))}
	if in.RouteConfiguration != nil {
		out.RouteConfiguration = proto.Clone(in.RouteConfiguration).(*routev3.RouteConfiguration)
	}
	for k, c := range in.Clusters {
		out.Clusters[k] = proto.Clone(c).(*clusterv3.Cluster)
	}
	return out
}

func inputEqual(a, b Input) bool {
	if !proto.Equal(a.RouteConfiguration, b.RouteConfiguration) || len(a.Clusters) != len(b.Clusters) {
		return false
	}
	for k, c := range a.Clusters {
		if !proto.Equal(c, b.Clusters[k]) {
			return false
		}
	}
	return true
}

// diffLines shows the lines that differ, with their line numbers: enough to see what
// changed in a golden without a diff library.
func diffLines(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 40; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
