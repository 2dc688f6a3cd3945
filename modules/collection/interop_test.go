package collection

import (
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// TestDefaultKeyMatchesClientGo checks that Kubernetes objects are keyed exactly as
// client-go's informers key them, so a collection fed by an informer and one fed by files
// agree on every key.
func TestDefaultKeyMatchesClientGo(t *testing.T) {
	key := DefaultKey[*corev1.Service]()
	for _, obj := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "catalog"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "cluster-scoped"}},
	} {
		want, err := cache.MetaNamespaceKeyFunc(obj)
		if err != nil {
			t.Fatal(err)
		}
		if got := key(obj); got != want {
			t.Errorf("key %q, client-go's %q", got, want)
		}
	}
}

// TestXDSResources checks the defaults on real go-control-plane resources: an xDS resource
// is keyed by its name, and a re-decoded, equal resource emits no event.
func TestXDSResources(t *testing.T) {
	s := NewStatic[*clusterv3.Cluster]()
	mk := func(timeout int64) *clusterv3.Cluster {
		return &clusterv3.Cluster{Name: "outbound|80||catalog.shop", ConnectTimeout: durationpb.New(time.Duration(timeout) * time.Second)}
	}
	tests := []struct {
		name   string
		item   *clusterv3.Cluster
		events int
	}{
		{"add", mk(1), 1},
		{"equal proto, new pointer", mk(1), 0},
		{"changed field", mk(2), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(s.Upsert(tc.item)); got != tc.events {
				t.Fatalf("%d events, want %d", got, tc.events)
			}
		})
	}
	if _, ok := s.Get("outbound|80||catalog.shop"); !ok {
		t.Fatal("cluster not keyed by its name")
	}
}
