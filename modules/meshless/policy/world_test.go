package policy

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

// The services of the shared test world.
var (
	api   = sid("api", "backend", "shop")
	admin = sid("admin", "backend", "shop")
	db    = sid("db", "store", "data")
)

// worldMeshlets: web calls api and db; backend serves api and admin; store, in another
// namespace, serves db; lonely calls nothing.
func worldMeshlets() []*meshlessv1.Meshlet {
	backend := newMeshlet("shop", "backend", serves(labels("app", "backend"),
		meshlessv1.ServerService{Name: "api", MaxConn: new(int32(2)), IdleTimeout: &metav1.Duration{Duration: 90 * time.Second}},
		svc("admin")))
	return []*meshlessv1.Meshlet{
		newMeshlet("shop", "web", calls(api, db)),
		newMeshlet("shop", "lonely"),
		backend,
		newMeshlet("data", "store", serves(labels("app", "store"), svc("db"))),
	}
}

// worldPods: a caller Pod per case, and the servers.
func worldPods() []*corev1.Pod {
	return []*corev1.Pod{
		newPod("shop", "web-1", labels(meshlessv1.LabelMeshlet, "web")),
		newPod("shop", "lonely-1", labels(meshlessv1.LabelMeshlet, "lonely")),
		newPod("shop", "nolabel-1", labels("app", "web")),
		newPod("shop", "ghost-1", labels(meshlessv1.LabelMeshlet, "ghost")),
		newPod("shop", "backend-1", labels("app", "backend", meshlessv1.LabelMeshlet, "backend")),
		newPod("data", "store-1", labels("app", "store"), onNode("node-b", "192.168.0.2")),
	}
}
