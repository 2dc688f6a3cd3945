package mesh

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
)

func svc(ns, name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestPublishAndGet(t *testing.T) {
	r := newRegistry()
	declareBuiltinKinds(r)
	a := collection.NewStatic[*corev1.Service]()
	a.Reset([]*corev1.Service{svc("ns", "x")})

	tests := []struct {
		name    string
		run     func() error
		wantErr string
	}{
		{"publish", func() error { return Publish(r, "a", "services", collection.Collection[*corev1.Service](a)) }, ""},
		{"duplicate", func() error { return Publish(r, "a", "services", collection.Collection[*corev1.Service](a)) }, "already registered"},
		{"wrong type for kind", func() error {
			return Publish(r, "b", "services", collection.Collection[*corev1.Pod](collection.NewStatic[*corev1.Pod]()))
		}, `kind "services" holds *v1.Service, not *v1.Pod`},
		{"empty source", func() error { return Publish(r, "", "services", collection.Collection[*corev1.Service](a)) }, "must not be empty"},
		{"custom kind", func() error {
			return Publish(r, "a", "limits", collection.Collection[int](collection.NewVar(3)))
		}, ""},
		{"register bad name", func() error {
			return Register(r, "nokind", collection.Collection[int](collection.NewVar(3)))
		}, "must be <source>/<kind>"},
		{"register", func() error {
			return Register(r, "user/policies", collection.Collection[int](collection.NewVar(3)))
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}

	got, err := Get[*corev1.Service](r, "a/services")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Get("ns/x"); !ok {
		t.Fatal("published collection lacks its item")
	}
	if _, err := Get[*corev1.Pod](r, "a/services"); err == nil || !strings.Contains(err.Error(), "holds *v1.Service") {
		t.Fatalf("typed Get with the wrong type: %v", err)
	}
	if _, err := Get[*corev1.Pod](r, "a/pods"); err == nil {
		t.Fatal("Get of a missing collection succeeded")
	}
}

func TestMergedViews(t *testing.T) {
	r := newRegistry()
	declareBuiltinKinds(r)
	a := collection.NewStatic[*corev1.Service]()
	b := collection.NewStatic[*corev1.Service]()
	mustNil(t, Publish(r, "b", "services", collection.Collection[*corev1.Service](b)))
	mustNil(t, Publish(r, "a", "services", collection.Collection[*corev1.Service](a)))
	stop, err := r.buildMerged()
	mustNil(t, err)
	defer stop()

	fromA := svc("ns", "both")
	fromA.Labels = map[string]string{"from": "a"}
	fromB := svc("ns", "both")
	fromB.Labels = map[string]string{"from": "b"}
	a.Reset([]*corev1.Service{fromA, svc("ns", "only-a")})
	b.Reset([]*corev1.Service{fromB, svc("ns", "only-b")})

	merged, err := Get[*corev1.Service](r, "merged/services")
	mustNil(t, err)
	waitFor(t, func() bool { return merged.HasSynced() && merged.Len() == 3 })
	if v, _ := merged.Get("ns/both"); v.Labels["from"] != "a" {
		t.Fatalf("merged/services took %v; the source named first (a) must win", v.Labels)
	}
	// A kind no source publishes still has an (empty, synced) merged view.
	pods, err := Get[*corev1.Pod](r, "merged/pods")
	mustNil(t, err)
	waitFor(t, pods.HasSynced)
	if pods.Len() != 0 {
		t.Fatal("merged/pods not empty")
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
