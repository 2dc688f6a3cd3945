package integration

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func wrapUint32(v uint32) *wrapperspb.UInt32Value { return wrapperspb.UInt32(v) }

func xdsSourceApps(server string, delta bool) map[string]any {
	return map[string]any{"mesh": map[string]any{"sources": map[string]any{
		"cp": map[string]any{
			"source": "xds", "server": server, "delta": delta,
			"node": map[string]any{"id": "node-1", "cluster": "shop"},
			"subscribe": []map[string]any{
				{"type": "cds"},
				{"type": "rds", "names": []string{"shop"}},
				{"type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"},
			},
		},
	}}}
}

// TestXDSSource runs the xds source in a real Caddy against go-control-plane's server, in
// both protocol variants: resources arrive as collections, an invalid resource is NACKed
// and shows as the collection's last error while its last good version keeps serving, and
// a reload with the source unchanged keeps the stream.
func TestXDSSource(t *testing.T) {
	for _, delta := range []bool{true, false} {
		name := "sotw"
		if delta {
			name = "delta"
		}
		t.Run(name, func(t *testing.T) {
			// Checked after every cleanup, the control plane's included.
			ignore := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
			srv := startXDSServer(t)
			srv.setSnapshot(t, "node-1", "v1", meshResources(8080, 1))
			in := newInstance(t)
			apps := xdsSourceApps(srv.addr, delta)
			in.load(apps)
			defer in.stop()

			eventually(t, 5*time.Second, func() string {
				return wantCounts(in.collections(), map[string]int{
					"cp/clusters": 1, "cp/clusterloadassignments": 1, "cp/routeconfigurations": 1,
					"cp/listeners": 0, "cp/secrets": 0, "cp/typedextensionconfigs": 1,
				})
			})
			_, ext := in.get("/mesh/collections/cp/typedextensionconfigs?key=ext")
			if !strings.Contains(string(ext), `"region": "eu-west-1"`) {
				t.Fatalf("custom type not shown in protojson: %s", ext)
			}
			_, body := in.get("/mesh/collections/cp/clusterloadassignments?key=catalog")
			if !strings.Contains(string(body), `"portValue": 8080`) {
				t.Fatalf("endpoint not shown in protojson: %s", body)
			}

			// An update with an invalid route (weights summing to 0) and a new endpoint
			// port: the endpoint applies, the route keeps its last good version.
			srv.setSnapshot(t, "node-1", "v2", meshResources(9090, 0))
			eventually(t, 5*time.Second, func() string {
				_, body := in.get("/mesh/collections/cp/clusterloadassignments?key=catalog")
				if !strings.Contains(string(body), `"portValue": 9090`) {
					return "new endpoint not applied"
				}
				r := in.collections()["cp/routeconfigurations"]
				if !strings.Contains(r.LastError, "NACK") || !strings.Contains(r.LastError, "shop") {
					return "route NACK not shown: " + r.LastError
				}
				return ""
			})
			_, body = in.get("/mesh/collections/cp/routeconfigurations?key=shop")
			if !strings.Contains(string(body), `"weight": 1`) {
				t.Fatalf("rejected route replaced the last good one: %s", body)
			}

			// A reload that leaves the source alone keeps its stream.
			streams := srv.streams.Load()
			apps["mesh"].(map[string]any)["sources"].(map[string]any)["files"] =
				map[string]any{"source": "file", "paths": []string{copyDir(t, "../examples/quickstart/manifests")}}
			in.load(apps)
			time.Sleep(200 * time.Millisecond)
			if now := srv.streams.Load(); now != streams {
				t.Fatalf("reload opened %d new ADS streams", now-streams)
			}
			if msg := wantCounts(in.collections(), map[string]int{"cp/clusters": 1, "files/services": 2}); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}
