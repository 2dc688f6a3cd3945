package gatewayapi

import (
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gatewayStatus is a served Gateway's status, and whether it is accepted.
//
// A Gateway is accepted when at least one listener is: the others are refused on their
// own and do not take the valid ones down. The Accepted reason is ListenersNotValid
// whenever some listener is refused, not programmed, or has unresolved references, so
// that the Gateway's own condition points at them. Programmed follows Accepted and needs
// an address; it does not wait for every listener, since a listener's own Programmed
// condition says whether that listener serves.
func (t *translation) gatewayStatus(g *gatewayState) (gatewayv1.GatewayStatus, bool) {
	var status gatewayv1.GatewayStatus
	var accepted int
	var invalid []string
	for _, l := range g.listeners {
		status.Listeners = append(status.Listeners, l.status(newConditions(g.gw.Generation, t.in.Now)))
		if l.accepted.ok {
			accepted++
		}
		if !l.accepted.ok || !l.programmed() || !l.resolved.empty() {
			invalid = append(invalid, string(l.spec.Name))
		}
	}
	if t.in.Addresses != nil {
		status.Addresses = t.in.Addresses(g.gw.Namespace, g.gw.Name)
	}

	c := newConditions(g.gw.Generation, t.in.Now)
	ok := accepted > 0
	switch {
	case !ok:
		set(c, string(gatewayv1.GatewayConditionAccepted), false, gatewayv1.GatewayReasonListenersNotValid,
			"No listener is valid: "+strings.Join(invalid, ", "))
	case len(invalid) > 0:
		set(c, string(gatewayv1.GatewayConditionAccepted), true, gatewayv1.GatewayReasonListenersNotValid,
			"Some listeners are not fully valid (see their conditions): "+strings.Join(invalid, ", "))
	default:
		set(c, string(gatewayv1.GatewayConditionAccepted), true, gatewayv1.GatewayReasonAccepted,
			"Gateway is accepted")
	}
	switch {
	case !ok:
		set(c, string(gatewayv1.GatewayConditionProgrammed), false, gatewayv1.GatewayReasonInvalid,
			"Gateway is not accepted")
	case len(status.Addresses) == 0:
		set(c, string(gatewayv1.GatewayConditionProgrammed), false, gatewayv1.GatewayReasonAddressNotAssigned,
			"No address is assigned to the Gateway yet")
	default:
		set(c, string(gatewayv1.GatewayConditionProgrammed), true, gatewayv1.GatewayReasonProgrammed,
			"Gateway is programmed")
	}
	status.Conditions = c.list
	return status, ok
}
