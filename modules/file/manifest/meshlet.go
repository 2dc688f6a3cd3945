package manifest

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// prepareMeshlet validates a Meshlet's spec with the rules the API type defines for every
// source. Meshlets have no defaults: every optional field means "none" when unset.
func prepareMeshlet(obj model.Object, _ string) field.ErrorList {
	m := obj.(*meshlessv1.Meshlet)
	return m.Spec.Validate(field.NewPath("spec"))
}
