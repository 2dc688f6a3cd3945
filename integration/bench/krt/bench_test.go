package krtbench

import (
	"testing"

	"github.com/caddymesh/caddymesh/modules/collection"
	"istio.io/istio/pkg/kube/krt"
)

func TestCompile(t *testing.T) {
	_ = collection.NewStatic[string](collection.WithKey(func(s string) string { return s }))
	_ = krt.NewStaticCollection[string](nil, nil)
}
