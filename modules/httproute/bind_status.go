package httproute

import (
	"fmt"
	"maps"
	"strconv"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
)

// The translation decides a Gateway's status from its objects alone; whether a listener's
// port could be bound is only known when RunForEach opens it. The run remembers the ports
// that failed and corrects the statuses it reports: those listeners are not Programmed,
// nor is a Gateway none of whose ports is open. Each failure or recovery reports again.

// bindFailed records that the port of key ("ns/name:port") could not be bound, or, with a
// nil err, that it now is, and reports the last translation's statuses again.
func (r *gatewayRun) bindFailed(key string, err error) {
	r.mu.Lock()
	_, had := r.bindErrs[key]
	if err != nil {
		r.bindErrs[key] = err
	} else {
		delete(r.bindErrs, key)
	}
	last := r.lastResult
	r.mu.Unlock()
	if (err != nil || had) && last != nil {
		r.statuses.push(r.withBindErrors(last))
	}
}

// pushStatuses reports res's statuses, corrected for the ports that failed to bind, and
// keeps res for a later correction.
func (r *gatewayRun) pushStatuses(res *gatewayapi.Result) {
	r.mu.Lock()
	r.lastResult = res
	r.mu.Unlock()
	r.statuses.push(r.withBindErrors(res))
}

// withBindErrors returns res, or a copy of it whose Gateway statuses show the listeners
// that could not be bound. res itself is shared with the translation cache and is not
// modified.
func (r *gatewayRun) withBindErrors(res *gatewayapi.Result) *gatewayapi.Result {
	r.mu.Lock()
	errs := maps.Clone(r.bindErrs)
	a := r.attached
	r.mu.Unlock()
	if len(errs) == 0 || a == nil {
		return res
	}
	out := *res
	out.GatewayStatuses = maps.Clone(res.GatewayStatuses)
	for _, gw := range res.Gateways {
		st, ok := out.GatewayStatuses[gw.Key()]
		if !ok {
			continue
		}
		failed := 0
		var copied *gatewayv1.GatewayStatus
		for _, p := range gw.Ports {
			err, bad := errs[gw.Key()+":"+strconv.Itoa(int(p.Port))]
			if !bad {
				continue
			}
			failed++
			if copied == nil {
				copied = st.DeepCopy()
			}
			markListenersUnbound(copied, a.listenersOn(gw.Key(), p.Port), err)
		}
		if copied == nil {
			continue
		}
		if failed == len(gw.Ports) {
			setFalse(&copied.Conditions, string(gatewayv1.GatewayConditionProgrammed), string(gatewayv1.GatewayReasonInvalid),
				"no listener port could be bound")
		}
		out.GatewayStatuses[gw.Key()] = *copied
	}
	return &out
}

// listenersOn returns the names of the Gateway's listeners on port.
func (a *attachment) listenersOn(gwKey string, port int32) map[gatewayv1.SectionName]bool {
	out := map[gatewayv1.SectionName]bool{}
	if gw, ok := a.inputs.gateways.Get(gwKey); ok {
		for _, l := range gw.Spec.Listeners {
			if int32(l.Port) == port {
				out[l.Name] = true
			}
		}
	}
	return out
}

// markListenersUnbound marks the listeners named in onPort as not Programmed.
func markListenersUnbound(st *gatewayv1.GatewayStatus, onPort map[gatewayv1.SectionName]bool, err error) {
	for i := range st.Listeners {
		if onPort[st.Listeners[i].Name] {
			setFalse(&st.Listeners[i].Conditions, string(gatewayv1.ListenerConditionProgrammed), string(gatewayv1.ListenerReasonInvalid),
				fmt.Sprintf("the port could not be bound: %v", err))
		}
	}
}

// setFalse sets a condition to False, keeping its observedGeneration.
func setFalse(conds *[]metav1.Condition, typ, reason, msg string) {
	c := metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Reason: reason, Message: msg}
	if old := meta.FindStatusCondition(*conds, typ); old != nil {
		c.ObservedGeneration = old.ObservedGeneration
		c.LastTransitionTime = old.LastTransitionTime
	}
	meta.SetStatusCondition(conds, c)
}
