package policy

import (
	corev1 "k8s.io/api/core/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// Caller is the meshlet on whose behalf a connection is made. The agent learns it from
// which Pod's socket the application connected on, so it cannot be spoofed. Only a Caller
// returned by [Policy.Caller] authorizes anything: it carries the meshlet's client list as
// it was then.
type Caller struct {
	// Namespace and Pod name the calling Pod; Meshlet is the value of its meshlet label.
	// The meshlet is in the Pod's namespace.
	Namespace string
	Pod       string
	Meshlet   string

	m *meshlet // the meshlet as compiled when Caller was asked
}

// Caller resolves the Pod that opened a connection to the meshlet it calls for. A Pod that
// the Policy does not know (not yet synced, or deleted), that has no meshless/meshlet label,
// or whose Meshlet does not exist cannot call anything: the answer is protocol.NotAllowed,
// since from the application's side it is a caller without permission, whatever it dialled.
func (p *Policy) Caller(podNamespace, podName string) (Caller, error) {
	pod, ok := p.callers.Get(podNamespace + "/" + podName)
	if !ok {
		return Caller{}, Refuse(protocol.NotAllowed, "calling pod %s/%s is unknown", podNamespace, podName)
	}
	name := pod.meshlet
	if name == "" {
		return Caller{}, Refuse(protocol.NotAllowed, "calling pod %s/%s has no %s label", podNamespace, podName, meshlessv1.LabelMeshlet)
	}
	m, ok := p.meshlets.Get(podNamespace + "/" + name)
	if !ok {
		return Caller{}, Refuse(protocol.NotAllowed, "calling pod %s/%s belongs to meshlet %s/%s, which does not exist",
			podNamespace, podName, podNamespace, name)
	}
	return Caller{Namespace: podNamespace, Pod: podName, Meshlet: name, m: m}, nil
}

// podCaller is what a caller lookup needs of a Pod.
type podCaller struct {
	key     string // "namespace/name"
	meshlet string // the meshlet label; "" for a Pod without it
}

// callerOf keeps every Pod, labelled or not, so that a Pod without the label is told apart
// from an unknown one in refusals.
func callerOf(p *corev1.Pod) (podCaller, bool) {
	return podCaller{key: p.Namespace + "/" + p.Name, meshlet: p.Labels[meshlessv1.LabelMeshlet]}, true
}
