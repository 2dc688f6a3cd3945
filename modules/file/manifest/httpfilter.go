package manifest

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// prepareHTTPFilter validates an HTTPFilter's handlers with the rules the API type defines
// for every source: each a JSON object naming its module under "handler", 1 to 16 of them.
// Whether the module exists is for the router to say, in the binary that loads it.
func prepareHTTPFilter(obj model.Object, _ string) field.ErrorList {
	f := obj.(*gatewayv1alpha1.HTTPFilter)
	return f.Spec.Validate(field.NewPath("spec"))
}
