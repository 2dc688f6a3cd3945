// Package conformance runs the upstream Gateway API conformance suite
// (sigs.k8s.io/gateway-api/conformance) against the caddymesh binary's gateway agent, on a real
// kube-apiserver from integration/kubeharness.
//
// There is no controller-manager, scheduler or kubelet in that cluster, so the harness stands
// in for the parts the suite relies on: it runs the suite's echo-basic backends as local
// processes for every Deployment, creates their Pods and EndpointSlices with Ready status, and
// serves Pod logs through a proxy in front of the API server. Everything lives in the tests;
// see TestGatewayAPIConformance for how to run it and how its report gates regressions.
package conformance
