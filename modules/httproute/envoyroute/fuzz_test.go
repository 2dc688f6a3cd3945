package envoyroute

import (
	"encoding/json"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// FuzzTranslate checks that Translate never panics on any RouteConfiguration, and keeps
// its promises about what it returns: a table that marshals, whose backends and mirrors
// name clusters the table has (or are marked Invalid), whose routes have exactly one
// action, and whose domains are served once; the same output on a second run. The
// clusters are every cluster of the golden inputs, so that seeds naming them reach the
// cluster translation.
func FuzzTranslate(f *testing.F) {
	clusters := make(map[string]*clusterv3.Cluster)
	for _, file := range goldenInputs(f) {
		in := loadInput(f, file)
		for name, c := range in.Clusters {
			clusters[name] = c
		}
		if in.RouteConfiguration == nil {
			continue
		}
		raw, err := proto.Marshal(in.RouteConfiguration)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x80})

	f.Fuzz(func(t *testing.T, raw []byte) {
		rc := new(routev3.RouteConfiguration)
		if err := proto.Unmarshal(raw, rc); err != nil {
			return
		}
		in := Input{RouteConfiguration: rc, Clusters: clusters}
		tbl, errs := Translate(in)
		for _, err := range errs {
			if err == nil {
				t.Fatal("a nil error in the list")
			}
		}
		if tbl == nil {
			if len(errs) == 0 {
				t.Fatal("no table and no error")
			}
			return
		}
		first, err := json.Marshal(tbl)
		if err != nil {
			t.Fatalf("the table does not marshal: %v", err)
		}
		checkTable(t, tbl)
		again, _ := Translate(in)
		if second, _ := json.Marshal(again); string(first) != string(second) {
			t.Fatalf("a second translation differs:\n%s\n%s", first, second)
		}
	})
}

// checkTable checks the invariants every translated table keeps.
func checkTable(t *testing.T, tbl *table.Table) {
	t.Helper()
	domains := make(map[string]bool)
	for _, vh := range tbl.VirtualHosts {
		if len(vh.Domains) == 0 {
			t.Fatalf("virtual host %q has no domain", vh.Name)
		}
		for _, d := range vh.Domains {
			if domains[d] {
				t.Fatalf("domain %q is served twice", d)
			}
			domains[d] = true
		}
		for _, r := range vh.Routes {
			actions := 0
			for _, set := range []bool{r.Forward != nil, r.Redirect != nil, r.DirectResponse != nil} {
				if set {
					actions++
				}
			}
			if actions != 1 {
				t.Fatalf("route %q has %d actions", r.Name, actions)
			}
			if r.Forward != nil {
				for _, b := range r.Forward.Backends {
					if (b.Cluster == "") == (b.Invalid == "") {
						t.Fatalf("route %q: backend %+v needs exactly one of cluster and invalid", r.Name, b)
					}
					if b.Cluster != "" && tbl.Clusters[b.Cluster] == nil {
						t.Fatalf("route %q: cluster %q is not in the table", r.Name, b.Cluster)
					}
				}
			}
			for _, m := range r.Mirrors {
				if tbl.Clusters[m.Cluster] == nil {
					t.Fatalf("route %q: mirror cluster %q is not in the table", r.Name, m.Cluster)
				}
			}
		}
	}
}
