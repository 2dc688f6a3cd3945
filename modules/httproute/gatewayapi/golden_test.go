package gatewayapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden.json files")

// testNow is the clock of every golden translation.
var testNow = metav1.NewTime(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))

// Test-only knobs a manifest can carry.
const (
	// noAddressAnnotation on a Gateway makes the test's Addresses return none for it.
	noAddressAnnotation = "test.caddymesh.io/no-address"
	// fileRefPrefix in a Secret's stringData value reads the value from a testdata file,
	// so that the test certificate is written once.
	fileRefPrefix = "@file:"
)

// testOptions is the pseudo-kind "TestOptions" a manifest may hold, setting Input fields
// that are not objects.
type testOptions struct {
	metav1.TypeMeta `json:",inline"`
	ControllerName  gatewayv1.GatewayController `json:"controllerName,omitempty"`
	ClassNames      []string                    `json:"classNames,omitempty"`
}

// loadInput decodes a multi-document manifest into an Input.
func loadInput(t testing.TB, path string) Input {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Now: testNow}
	noAddress := map[string]bool{}
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("%s: document %d: %v", path, i, err)
		}
		decode := func(into any) {
			if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
				t.Fatalf("%s: document %d (%s): %v", path, i, tm.Kind, err)
			}
		}
		switch tm.Kind {
		case "TestOptions":
			var o testOptions
			decode(&o)
			in.ControllerName, in.ClassNames = o.ControllerName, o.ClassNames
		case "GatewayClass":
			o := &gatewayv1.GatewayClass{}
			decode(o)
			in.GatewayClasses = append(in.GatewayClasses, o)
		case "Gateway":
			o := &gatewayv1.Gateway{}
			decode(o)
			if o.Annotations[noAddressAnnotation] == "true" {
				noAddress[key(o.Namespace, o.Name)] = true
			}
			in.Gateways = append(in.Gateways, o)
		case "HTTPRoute":
			o := &gatewayv1.HTTPRoute{}
			decode(o)
			in.HTTPRoutes = append(in.HTTPRoutes, o)
		case "Service":
			o := &corev1.Service{}
			decode(o)
			in.Services = append(in.Services, o)
		case "ReferenceGrant":
			o := &gatewayv1.ReferenceGrant{}
			decode(o)
			in.ReferenceGrants = append(in.ReferenceGrants, o)
		case "Namespace":
			o := &corev1.Namespace{}
			decode(o)
			in.Namespaces = append(in.Namespaces, o)
		case "Secret":
			o := &corev1.Secret{}
			decode(o)
			if o.Data == nil {
				o.Data = map[string][]byte{}
			}
			for k, v := range o.StringData {
				if file, ok := strings.CutPrefix(v, fileRefPrefix); ok {
					b, err := os.ReadFile(filepath.Join(filepath.Dir(path), file))
					if err != nil {
						t.Fatal(err)
					}
					v = string(b)
				}
				o.Data[k] = []byte(v)
			}
			o.StringData = nil
			in.Secrets = append(in.Secrets, o)
		case "HTTPFilter":
			o := &gatewayv1alpha1.HTTPFilter{}
			decode(o)
			in.HTTPFilters = append(in.HTTPFilters, o)
		default:
			t.Fatalf("%s: document %d: kind %q is not an input", path, i, tm.Kind)
		}
	}
	in.Addresses = func(namespace, name string) []gatewayv1.GatewayStatusAddress {
		if noAddress[key(namespace, name)] {
			return nil
		}
		ip := gatewayv1.IPAddressType
		return []gatewayv1.GatewayStatusAddress{{Type: &ip, Value: "192.0.2.10"}}
	}
	return in
}

// marshalResult is the golden form of a Result.
func marshalResult(t testing.TB, r *Result) []byte {
	t.Helper()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func goldenCases(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.yaml cases")
	}
	return files
}

// TestGolden translates each testdata/<case>.yaml and compares the Result with
// testdata/<case>.golden.json; -update rewrites the goldens.
func TestGolden(t *testing.T) {
	for _, file := range goldenCases(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			got := marshalResult(t, Translate(loadInput(t, file)))
			golden := strings.TrimSuffix(file, ".yaml") + ".golden.json"
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
				t.Errorf("result differs from %s (run with -update to accept):\n%s", golden, lineDiff(string(want), string(got)))
			}
		})
	}
}

// TestOrderIndependent checks that shuffling every input slice changes nothing, and that
// translating twice gives the same result.
func TestOrderIndependent(t *testing.T) {
	for _, file := range goldenCases(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			in := loadInput(t, file)
			want := marshalResult(t, Translate(in))
			if again := marshalResult(t, Translate(in)); !bytes.Equal(want, again) {
				t.Fatalf("two translations of one input differ:\n%s", lineDiff(string(want), string(again)))
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range 5 {
				shuffled := in
				shuffled.GatewayClasses = shuffle(rng, in.GatewayClasses)
				shuffled.Gateways = shuffle(rng, in.Gateways)
				shuffled.HTTPRoutes = shuffle(rng, in.HTTPRoutes)
				shuffled.Services = shuffle(rng, in.Services)
				shuffled.ReferenceGrants = shuffle(rng, in.ReferenceGrants)
				shuffled.Namespaces = shuffle(rng, in.Namespaces)
				shuffled.Secrets = shuffle(rng, in.Secrets)
				shuffled.HTTPFilters = shuffle(rng, in.HTTPFilters)
				if got := marshalResult(t, Translate(shuffled)); !bytes.Equal(want, got) {
					t.Fatalf("shuffled input gives another result:\n%s", lineDiff(string(want), string(got)))
				}
			}
		})
	}
}

func shuffle[T any](rng *rand.Rand, s []T) []T {
	out := append([]T(nil), s...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// lineDiff shows the first lines where two texts differ, with a little context.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	from := max(0, i-3)
	for j := from; j < i; j++ {
		fmt.Fprintf(&b, "  %s\n", w[j])
	}
	for j := i; j < min(len(w), i+8); j++ {
		fmt.Fprintf(&b, "- %s\n", w[j])
	}
	for j := i; j < min(len(g), i+8); j++ {
		fmt.Fprintf(&b, "+ %s\n", g[j])
	}
	return b.String()
}
