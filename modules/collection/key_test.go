package collection

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func svc(ns, name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestDefaultKeyKubernetes(t *testing.T) {
	tests := []struct {
		obj  *corev1.Service
		want string
	}{
		{svc("default", "web"), "default/web"},
		{svc("", "cluster-wide"), "cluster-wide"},
	}
	key := DefaultKey[*corev1.Service]()
	if key == nil {
		t.Fatal("no default key for *corev1.Service")
	}
	s := NewStatic[*corev1.Service]()
	for _, tt := range tests {
		if got := key(tt.obj); got != tt.want {
			t.Errorf("DefaultKey = %q, want %q", got, tt.want)
		}
		s.Upsert(tt.obj)
		if _, ok := s.Get(tt.want); !ok {
			t.Errorf("Static did not file %q under its key", tt.want)
		}
	}
	// Namespaces are cluster-scoped.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}
	if got := DefaultKey[*corev1.Namespace]()(ns); got != "team-a" {
		t.Errorf("namespace key = %q", got)
	}
}

// named2 has only GetName, as xDS resources do.
type named2 struct{ N string }

func (n named2) GetName() string { return n.N }

func TestDefaultKeyKinds(t *testing.T) {
	if got := DefaultKey[item]()(item{Name: "k"}); got != "k" {
		t.Errorf("Keyed: %q", got)
	}
	if got := DefaultKey[named2]()(named2{N: "cluster_a"}); got != "cluster_a" {
		t.Errorf("named: %q", got)
	}
	if DefaultKey[int]() != nil || DefaultKey[struct{ A int }]() != nil {
		t.Error("types without a key must have no default key")
	}
}

func TestKubernetesEquality(t *testing.T) {
	s := NewStatic[*corev1.Service]()
	a := svc("ns", "a")
	a.ResourceVersion = "1"
	s.Upsert(a)
	b := svc("ns", "a")
	b.ResourceVersion = "1"
	b.Labels = map[string]string{"ignored": "same resourceVersion means same object"}
	if ev := s.Upsert(b); len(ev) != 0 {
		t.Errorf("same resourceVersion emitted %v", len(ev))
	}
	c := svc("ns", "a") // from a file: no resourceVersion, deep comparison
	s.Upsert(c)
	if ev := s.Upsert(svc("ns", "a")); len(ev) != 0 {
		t.Errorf("deep-equal object emitted %d events", len(ev))
	}
	d := svc("ns", "a")
	d.Spec.Ports = []corev1.ServicePort{{Port: 80}}
	if ev := s.Upsert(d); len(ev) != 1 {
		t.Errorf("changed object emitted %d events", len(ev))
	}
}

type noKey struct{ A int }

func TestNoKeyPanics(t *testing.T) {
	tests := []struct {
		name string
		make func()
		want []string
	}{
		{"struct", func() { NewStatic[noKey](WithName("things")) },
			[]string{`collection "things"`, "collection.noKey", "has no natural key", "WithKey"}},
		{"interface", func() { NewStatic[any]() },
			[]string{"interface {}", "has no natural key"}},
		{"wrong WithKey type", func() { NewStatic[noKey](WithKey(func(int) string { return "" })) },
			[]string{"WithKey given func(int) string", "want func(collection.noKey) string"}},
		{"wrong WithEqual type", func() { NewStatic[item](WithEqual(func(a, b int) bool { return true })) },
			[]string{"WithEqual given func(int, int) bool"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := func() (msg string) {
				defer func() { msg, _ = recover().(string) }()
				tt.make()
				return ""
			}()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("panic %q does not contain %q", msg, w)
				}
			}
		})
	}
	// WithKey makes it work.
	s := NewStatic[noKey](WithKey(func(n noKey) string { return "k" }))
	s.Upsert(noKey{A: 1})
	if _, ok := s.Get("k"); !ok {
		t.Error("WithKey not used")
	}
}
