package kube

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// lastApplied is the annotation kubectl apply leaves on objects: a full copy of the object
// as last applied, often the largest part of its metadata and read by no consumer.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// trim is the informers' transform: it runs once per object as the object arrives, before
// the informer stores it, so the cache and the collections share one small copy. Objects
// keep their Go types, so consumers cannot tell this source's objects from the file
// source's, but lose what no consumer reads:
//   - managedFields and the last-applied annotation, on every kind;
//   - for Pods, everything but the metadata, spec.nodeName, spec.hostNetwork,
//     spec.serviceAccountName, the containers' names and ports, and the status fields that
//     say where the Pod runs and whether it is Ready (phase, conditions, podIP(s),
//     hostIP(s)). A Pod's spec is most of its size, and Pods are the most numerous objects
//     a node agent watches.
func trim(obj any) (any, error) {
	if pod, ok := obj.(*corev1.Pod); ok {
		return trimPod(pod), nil
	}
	if m, ok := obj.(metav1.Object); ok {
		trimMeta(m)
	}
	// cache.DeletedFinalStateUnknown and anything else passes as it is.
	return obj, nil
}

func trimMeta(m metav1.Object) {
	m.SetManagedFields(nil)
	if a := m.GetAnnotations(); a != nil {
		if _, ok := a[lastApplied]; ok {
			delete(a, lastApplied)
			if len(a) == 0 {
				m.SetAnnotations(nil)
			}
		}
	}
}

func trimPod(in *corev1.Pod) *corev1.Pod {
	trimMeta(in)
	out := &corev1.Pod{
		TypeMeta:   in.TypeMeta,
		ObjectMeta: in.ObjectMeta,
		Spec: corev1.PodSpec{
			NodeName:           in.Spec.NodeName,
			HostNetwork:        in.Spec.HostNetwork,
			ServiceAccountName: in.Spec.ServiceAccountName,
		},
		Status: corev1.PodStatus{
			Phase:      in.Status.Phase,
			Conditions: in.Status.Conditions,
			HostIP:     in.Status.HostIP,
			HostIPs:    in.Status.HostIPs,
			PodIP:      in.Status.PodIP,
			PodIPs:     in.Status.PodIPs,
		},
	}
	if len(in.Spec.Containers) > 0 {
		// Named container ports are what a Service's named targetPort resolves against.
		out.Spec.Containers = make([]corev1.Container, len(in.Spec.Containers))
		for i, c := range in.Spec.Containers {
			out.Spec.Containers[i] = corev1.Container{Name: c.Name, Ports: c.Ports}
		}
	}
	return out
}

var _ cache.TransformFunc = trim
