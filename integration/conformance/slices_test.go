package conformance

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// syncSlices writes one EndpointSlice per selecting Service of the namespace, named
// <service>-harness, and deletes those of Services that are gone or lost their selector.
func (k *kubelet) syncSlices(ns string) error {
	svcs, err := k.svcs.Services(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	existing, err := k.cs.DiscoveryV1().EndpointSlices(ns).List(k.ctx, metav1.ListOptions{LabelSelector: managedByLabel + "=" + managedByValue})
	if err != nil {
		return fmt.Errorf("listing endpointslices: %w", err)
	}
	have := map[string]*discoveryv1.EndpointSlice{}
	for i := range existing.Items {
		have[existing.Items[i].Name] = &existing.Items[i]
	}
	k.mu.Lock()
	var pods []*backendPod
	for _, key := range sortedKeys(k.pods) {
		if p := k.pods[key]; p.ns == ns {
			pods = append(pods, p)
		}
	}
	wanted := map[string]*discoveryv1.EndpointSlice{}
	for _, svc := range svcs {
		if len(svc.Spec.Selector) == 0 || svc.DeletionTimestamp != nil {
			continue
		}
		for _, s := range desiredSlices(svc, pods) {
			wanted[s.Name] = s
		}
	}
	k.mu.Unlock()

	var errs []error
	for _, name := range sortedKeys(wanted) {
		want := wanted[name]
		cur, ok := have[name]
		switch {
		case !ok:
			if _, err := k.cs.DiscoveryV1().EndpointSlices(ns).Create(k.ctx, want, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				errs = append(errs, fmt.Errorf("creating endpointslice %s: %w", name, err))
			}
		case !apiequality.Semantic.DeepEqual(cur.Endpoints, want.Endpoints) ||
			!apiequality.Semantic.DeepEqual(cur.Ports, want.Ports) ||
			!apiequality.Semantic.DeepEqual(cur.Labels, want.Labels):
			want.ResourceVersion = cur.ResourceVersion
			if _, err := k.cs.DiscoveryV1().EndpointSlices(ns).Update(k.ctx, want, metav1.UpdateOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("updating endpointslice %s: %w", name, err))
			}
		}
	}
	for name := range have {
		if _, ok := wanted[name]; ok {
			continue
		}
		err := k.cs.DiscoveryV1().EndpointSlices(ns).Delete(k.ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting endpointslice %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// desiredSlices are the EndpointSlices the controller would write for svc, but one per Pod:
// each selected Pod whose process has started, Ready when it answers, with the Service's
// ports resolved to the ports that Pod's process serves. A Service that selects none gets an
// empty slice, as the controller leaves. Callers hold k.mu.
func desiredSlices(svc *corev1.Service, pods []*backendPod) []*discoveryv1.EndpointSlice {
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	lbls := map[string]string{discoveryv1.LabelServiceName: svc.Name, managedByLabel: managedByValue}
	for key, v := range svc.Labels {
		if _, ok := lbls[key]; !ok {
			lbls[key] = v
		}
	}
	slice := func(suffix string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name:      svc.Name + "-" + suffix,
				Namespace: svc.Namespace,
				Labels:    lbls,
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID,
					Controller: new(true), BlockOwnerDeletion: new(true),
				}},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{},
			Ports:       []discoveryv1.EndpointPort{},
		}
	}
	var out []*discoveryv1.EndpointSlice
	for _, p := range pods {
		if p.state == podPending || p.state == podStopped || !sel.Matches(labels.Set(p.labels)) {
			continue
		}
		s := slice(strings.TrimPrefix(p.name, p.deploy+"-"))
		ports := p.portMap()
		for _, sp := range svc.Spec.Ports {
			cport, ok := containerPort(sp, p)
			if !ok {
				continue
			}
			local, ok := ports[cport]
			if !ok {
				continue // the process serves no such port
			}
			s.Ports = append(s.Ports, discoveryv1.EndpointPort{
				Name: new(sp.Name), Port: new(local), Protocol: new(sp.Protocol), AppProtocol: sp.AppProtocol,
			})
		}
		ready := p.state == podReady
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{p.ip},
			Conditions: discoveryv1.EndpointConditions{
				Ready: new(ready), Serving: new(ready), Terminating: new(false),
			},
			NodeName: new(nodeName),
			TargetRef: &corev1.ObjectReference{
				Kind: "Pod", Namespace: p.ns, Name: p.name, UID: p.uid,
			},
		})
		out = append(out, s)
	}
	if len(out) == 0 {
		out = append(out, slice("harness"))
	}
	return out
}

// containerPort resolves a Service port's targetPort for a Pod: a number is itself (the port
// when unset), a name is looked up among the Pod's container ports.
func containerPort(sp corev1.ServicePort, p *backendPod) (int32, bool) {
	switch tp := sp.TargetPort; {
	case tp.Type == intstr.Int && tp.IntVal == 0:
		return sp.Port, true
	case tp.Type == intstr.Int:
		return tp.IntVal, true
	default:
		for _, c := range p.spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == tp.StrVal && cp.Protocol == sp.Protocol {
					return cp.ContainerPort, true
				}
			}
		}
		return 0, false
	}
}
