package envoyroute

import (
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// denominators maps FractionalPercent's denominator enum to its value.
var denominators = map[typev3.FractionalPercent_DenominatorType]uint32{
	typev3.FractionalPercent_HUNDRED:      100,
	typev3.FractionalPercent_TEN_THOUSAND: 10_000,
	typev3.FractionalPercent_MILLION:      1_000_000,
}

// runtimeFraction translates a runtime_fraction (of a route match or a mirror policy) into
// its default value: there is no Envoy runtime here to override it, and Envoy uses the
// default when the runtime key is absent. A numerator above the denominator means always
// in Envoy; it is capped so that the table says so plainly.
func runtimeFraction(at string, rf *corev3.RuntimeFractionalPercent) (*table.Fraction, error) {
	if err := runtimeFractionFields.check(at, rf); err != nil {
		return nil, err
	}
	dv := rf.GetDefaultValue()
	den, ok := denominators[dv.GetDenominator()]
	if !ok {
		return nil, fmt.Errorf("%s.default_value: unknown denominator %d", at, int32(dv.GetDenominator()))
	}
	return &table.Fraction{Numerator: min(dv.GetNumerator(), den), Denominator: den}, nil
}
