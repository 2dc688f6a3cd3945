package gatewayapi

import (
	"bytes"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
)

// resolveExtension resolves an ExtensionRef to the handlers of an HTTPFilter in the
// route's namespace (an ExtensionRef is a local reference).
func (c *compiler) resolveExtension(namespace string, ref *gatewayv1.LocalObjectReference) ([]table.RawHandler, *refProblem) {
	if string(ref.Group) != gatewayv1alpha1.GroupName || string(ref.Kind) != gatewayv1alpha1.Kind {
		return nil, &refProblem{reason: gatewayv1.RouteReasonInvalidKind,
			message: fmt.Sprintf("extensionRef to %s is not supported; only %s is",
				groupKind(string(ref.Group), string(ref.Kind)), groupKind(gatewayv1alpha1.GroupName, gatewayv1alpha1.Kind))}
	}
	k := key(namespace, string(ref.Name))
	c.depends(namespace, namespace, &c.cur.filters, k)
	f := c.idx.filters[k]
	if f == nil {
		return nil, &refProblem{reason: gatewayv1.RouteReasonBackendNotFound,
			message: fmt.Sprintf("HTTPFilter %s/%s does not exist", namespace, ref.Name)}
	}
	if errs := f.Spec.Validate(field.NewPath("spec")); len(errs) > 0 {
		return nil, &refProblem{reason: reasonInvalidHTTPFilter,
			message: fmt.Sprintf("HTTPFilter %s/%s is invalid: %v", namespace, ref.Name, errs.ToAggregate())}
	}
	out := make([]table.RawHandler, 0, len(f.Spec.Handlers))
	for _, h := range f.Spec.Handlers {
		raw := h.Raw
		if len(raw) == 0 && h.Object != nil {
			raw, _ = json.Marshal(h.Object) // Validate has encoded it once already
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, &refProblem{reason: reasonInvalidHTTPFilter,
				message: fmt.Sprintf("HTTPFilter %s/%s: handler is not JSON: %v", namespace, ref.Name, err)}
		}
		out = append(out, table.RawHandler(buf.Bytes()))
	}
	return out, nil
}

// reasonInvalidHTTPFilter is the ResolvedRefs reason for an HTTPFilter that exists but
// cannot be used (its handlers lack a "handler" key). The spec lets controllers add
// reasons; none of its own fits a referent that is there but malformed.
const reasonInvalidHTTPFilter gatewayv1.RouteConditionReason = "InvalidHTTPFilter"
