package gatewayapi

import (
	"slices"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// supportedFeatures are the Gateway API conformance features (the names of
// sigs.k8s.io/gateway-api/pkg/features, written out to keep that package's dependencies
// out of the binary) this translation implements, sorted. They are published in every
// served GatewayClass's status, where the conformance suite reads them to choose its tests,
// so a feature is listed only once the translation and the runtime both pass its tests.
// GatewayPort8080 is listed because listeners may use any port.
var supportedFeatures = []string{
	"Gateway",
	"GatewayPort8080",
	"HTTPRoute",
	"HTTPRouteBackendRequestHeaderModification",
	"HTTPRouteBackendTimeout",
	"HTTPRouteHostRewrite",
	"HTTPRouteMethodMatching",
	"HTTPRouteParentRefPort",
	"HTTPRoutePathRedirect",
	"HTTPRoutePathRewrite",
	"HTTPRoutePortRedirect",
	"HTTPRouteQueryParamMatching",
	"HTTPRouteRequestMirror",
	"HTTPRouteRequestMultipleMirrors",
	"HTTPRouteRequestPercentageMirror",
	"HTTPRouteRequestTimeout",
	"HTTPRouteResponseHeaderModification",
	"HTTPRouteSchemeRedirect",
	"ReferenceGrant",
}

// SupportedFeatures returns the Gateway API conformance features the translation
// supports, sorted: what a served GatewayClass's status.supportedFeatures lists, and what
// a conformance run should be given.
func SupportedFeatures() []string { return slices.Clone(supportedFeatures) }

// servedClasses picks the GatewayClasses this controller serves and reports their status:
// always Accepted, since a class names nothing the controller could fail to resolve
// (parametersRef is not read).
func servedClasses(in *Input, controller gatewayv1.GatewayController) (map[string]*gatewayv1.GatewayClass, map[string]gatewayv1.GatewayClassStatus) {
	served := make(map[string]*gatewayv1.GatewayClass)
	statuses := make(map[string]gatewayv1.GatewayClassStatus)
	features := make([]gatewayv1.SupportedFeature, len(supportedFeatures))
	for i, f := range supportedFeatures {
		features[i] = gatewayv1.SupportedFeature{Name: gatewayv1.FeatureName(f)}
	}
	for _, gc := range in.GatewayClasses {
		if gc == nil || gc.Spec.ControllerName != controller {
			continue
		}
		if len(in.ClassNames) > 0 && !slices.Contains(in.ClassNames, gc.Name) {
			continue
		}
		served[gc.Name] = gc
		c := newConditions(gc.Generation, in.Now)
		set(c, string(gatewayv1.GatewayClassConditionStatusAccepted), true,
			gatewayv1.GatewayClassReasonAccepted, "Served by "+string(controller))
		statuses[gc.Name] = gatewayv1.GatewayClassStatus{
			Conditions:        c.list,
			SupportedFeatures: slices.Clone(features),
		}
	}
	return served, statuses
}
