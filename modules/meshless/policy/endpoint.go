package policy

import (
	corev1 "k8s.io/api/core/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

// Endpoint is one Pod that can take a connection: what the agent needs to reach its server
// socket, on its own node or through the tunnel to the Pod's node.
type Endpoint struct {
	// Namespace and Name identify the Pod; on the Pod's node its server socket is
	// <root>/<Namespace>/<Name>/server/<service>.
	Namespace string
	Name      string
	// Key is "Namespace/Name", the Pod's collection key, kept so that ActiveConns is asked
	// without building a string per Pod.
	Key string
	// PodIP is status.podIP.
	PodIP string
	// HostIP is status.hostIP: the address of the node agent to tunnel to.
	HostIP string
	// NodeName is spec.nodeName: the agent compares it with its own node to choose between
	// the Unix socket and the tunnel.
	NodeName string
	// Version is the Pod's "version" label (LabelVersion), or "".
	Version string
}

// endpointOf returns the Endpoint of a Pod that can take connections now, or false.
func endpointOf(p *corev1.Pod) (Endpoint, bool) {
	if !podServes(p) {
		return Endpoint{}, false
	}
	return Endpoint{
		Namespace: p.Namespace,
		Name:      p.Name,
		Key:       p.Namespace + "/" + p.Name,
		PodIP:     p.Status.PodIP,
		HostIP:    p.Status.HostIP,
		NodeName:  p.Spec.NodeName,
		Version:   p.Labels[meshlessv1.LabelVersion],
	}, true
}

// podServes is Kubernetes' own notion of a serving endpoint, as the EndpointSlice
// controller applies it: Running, Ready, not terminating, with an address. A terminating
// Pod is left out even while still Ready, because new connections to it would be cut when
// it exits.
func podServes(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// selects reports whether every selector label is on the Pod with the same value.
func selects(selector map[string]string, p *corev1.Pod) bool {
	if len(selector) == 0 {
		return false // see selectorJoinKey
	}
	for k, v := range selector {
		if got, ok := p.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// podJoinKeys files a Pod under each of its labels, so that it meets every meshlet whose
// selector's join label it carries; the meshlet then checks the rest of its selector.
func podJoinKeys(p *corev1.Pod) []string {
	keys := make([]string, 0, len(p.Labels))
	for k, v := range p.Labels {
		keys = append(keys, joinKey(p.Namespace, k, v))
	}
	return keys
}
