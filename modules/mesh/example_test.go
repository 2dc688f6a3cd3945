package mesh_test

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/caddymesh/caddymesh/modules/collection"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

// The README's example: a user-defined value, "the default connection limit", derived from
// the mesh's Meshlets in a few lines and kept up to date as they change. Inside Caddy the
// Meshlets come from mesh.Get[*meshlessv1.Meshlet](app.Registry(), "merged/meshlets"); here
// a Static stands in for them.
func Example_defaultConnectionLimit() {
	meshlets := collection.NewStatic[*meshlessv1.Meshlet]()

	limit := collection.Reduce(meshlets, func(ms []*meshlessv1.Meshlet) int32 {
		n := int32(1024) // when no Meshlet asks for less
		for _, m := range ms {
			if m.Spec.Server == nil {
				continue
			}
			for _, s := range m.Spec.Server.Services {
				if s.MaxConn != nil && *s.MaxConn < n {
					n = *s.MaxConn
				}
			}
		}
		return n
	})
	defer limit.Stop()
	serving := collection.Filter(meshlets, func(m *meshlessv1.Meshlet) bool { return m.Spec.Server != nil })
	defer serving.Stop()
	servers := collection.Count(serving) // incremental: O(1) per change
	defer servers.Stop()

	meshlets.Reset([]*meshlessv1.Meshlet{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "frontend"}},
		{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "catalog"},
			Spec: meshlessv1.MeshletSpec{Server: &meshlessv1.Server{
				Selector: map[string]string{"app": "catalog"},
				Services: []meshlessv1.ServerService{{Name: "api", MaxConn: ptr.To[int32](100)}},
			}},
		},
	})
	<-limit.Synced()
	<-servers.Synced()
	fmt.Println("default connection limit:", limit.Value())
	fmt.Println("meshlets that serve:", servers.Value())
	// Output:
	// default connection limit: 100
	// meshlets that serve: 1
}
