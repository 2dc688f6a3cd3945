package manifest

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// The validation below follows the API server's (k8s.io/kubernetes/pkg/apis/*/validation)
// for the fields the mesh reads. Where it deliberately differs, the function says so.

var (
	serviceTypes = []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort,
		corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName}
	protocols         = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	sessionAffinities = []corev1.ServiceAffinity{corev1.ServiceAffinityNone, corev1.ServiceAffinityClientIP}
	externalPolicies  = []corev1.ServiceExternalTrafficPolicy{corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal}
	internalPolicies  = []corev1.ServiceInternalTrafficPolicy{corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal}
	ipFamilies        = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	ipFamilyPolicies  = []corev1.IPFamilyPolicy{corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack}
	addressTypes      = []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN}
	maxSliceEndpoints = 1000
	maxSliceAddresses = 100
	maxSlicePorts     = 100
	// maxAffinityTimeout is the API server's limit on a ClientIP affinity timeout: one day.
	maxAffinityTimeout = int32(86400)
)

func prepareService(obj model.Object, _ string) field.ErrorList {
	s := obj.(*corev1.Service)
	defaultService(s)
	return validateServiceSpec(&s.Spec, field.NewPath("spec"))
}

func prepareEndpointSlice(obj model.Object, _ string) field.ErrorList {
	s := obj.(*discoveryv1.EndpointSlice)
	defaultEndpointSlice(s)
	return validateEndpointSlice(s)
}

func preparePod(obj model.Object, _ string) field.ErrorList {
	p := obj.(*corev1.Pod)
	defaultPod(p)
	return validatePod(p)
}

func prepareNamespace(obj model.Object, _ string) field.ErrorList {
	defaultNamespace(obj.(*corev1.Namespace))
	return nil // metadata is all a namespace has to validate
}

func validateServiceSpec(spec *corev1.ServiceSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !slices.Contains(serviceTypes, spec.Type) {
		errs = append(errs, field.NotSupported(path.Child("type"), spec.Type, serviceTypes))
	}
	external := spec.Type == corev1.ServiceTypeExternalName
	headless := spec.ClusterIP == corev1.ClusterIPNone
	if len(spec.Ports) == 0 && !external && !headless {
		errs = append(errs, field.Required(path.Child("ports"), "a Service needs ports unless it is headless (clusterIP: None) or of type ExternalName"))
	}
	errs = append(errs, validateServicePorts(spec, path.Child("ports"))...)
	errs = append(errs, validateClusterIPs(spec, path)...)
	if external {
		name := strings.TrimSuffix(spec.ExternalName, ".")
		if name == "" {
			errs = append(errs, field.Required(path.Child("externalName"), "required for type ExternalName"))
		}
		for _, msg := range validation.IsDNS1123Subdomain(name) {
			if name != "" {
				errs = append(errs, field.Invalid(path.Child("externalName"), spec.ExternalName, msg))
			}
		}
	}
	errs = append(errs, metav1validation.ValidateLabels(spec.Selector, path.Child("selector"))...)
	errs = append(errs, validateSessionAffinity(spec, path)...)
	errs = append(errs, validateTrafficPolicies(spec, path)...)
	errs = append(errs, validateIPFamilies(spec, path)...)
	for i, ip := range spec.ExternalIPs {
		errs = append(errs, validation.IsValidIPForLegacyField(path.Child("externalIPs").Index(i), ip, true, nil)...)
	}
	return errs
}

func validateServicePorts(spec *corev1.ServiceSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	type portKey struct {
		port     int32
		protocol corev1.Protocol
	}
	seen := sets.New[portKey]()
	nodePorts := spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer
	for i, p := range spec.Ports {
		pp := path.Index(i)
		// Several ports must be told apart by name, which EndpointSlices refer to.
		if len(spec.Ports) > 1 && p.Name == "" {
			errs = append(errs, field.Required(pp.Child("name"), "required when a Service has more than one port"))
		}
		if p.Name != "" {
			errs = append(errs, dnsLabel(p.Name, pp.Child("name"))...)
			if names.Has(p.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), p.Name))
			}
			names.Insert(p.Name)
		}
		errs = append(errs, portNumber(p.Port, pp.Child("port"))...)
		if !slices.Contains(protocols, p.Protocol) {
			errs = append(errs, field.NotSupported(pp.Child("protocol"), p.Protocol, protocols))
		}
		// A targetPort defaulted from an invalid port would only repeat the port's error.
		if p.TargetPort != intstr.FromInt32(p.Port) {
			errs = append(errs, validateTargetPort(p.TargetPort, pp.Child("targetPort"))...)
		}
		if p.NodePort != 0 {
			if !nodePorts {
				errs = append(errs, field.Forbidden(pp.Child("nodePort"), "may only be set for type NodePort or LoadBalancer"))
			}
			errs = append(errs, portNumber(p.NodePort, pp.Child("nodePort"))...)
		}
		if p.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*p.AppProtocol) {
				errs = append(errs, field.Invalid(pp.Child("appProtocol"), *p.AppProtocol, msg))
			}
		}
		key := portKey{p.Port, p.Protocol}
		if seen.Has(key) {
			errs = append(errs, field.Duplicate(pp, key))
		}
		seen.Insert(key)
	}
	return errs
}

func validateTargetPort(tp intstr.IntOrString, path *field.Path) field.ErrorList {
	if tp.Type == intstr.String {
		var errs field.ErrorList
		for _, msg := range validation.IsValidPortName(tp.StrVal) {
			errs = append(errs, field.Invalid(path, tp.StrVal, msg))
		}
		return errs
	}
	return portNumber(tp.IntVal, path)
}

func validateClusterIPs(spec *corev1.ServiceSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.Type == corev1.ServiceTypeExternalName {
		if spec.ClusterIP != "" || len(spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(path.Child("clusterIP"), "may not be set for type ExternalName"))
		}
		return errs
	}
	if spec.ClusterIP == corev1.ClusterIPNone && (spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer) {
		errs = append(errs, field.Invalid(path.Child("clusterIP"), spec.ClusterIP, "may not be None for type NodePort or LoadBalancer"))
	}
	if spec.ClusterIP != "" && spec.ClusterIP != corev1.ClusterIPNone {
		errs = append(errs, validation.IsValidIPForLegacyField(path.Child("clusterIP"), spec.ClusterIP, true, nil)...)
	}
	if len(spec.ClusterIPs) > 0 && spec.ClusterIPs[0] != spec.ClusterIP {
		errs = append(errs, field.Invalid(path.Child("clusterIPs").Index(0), spec.ClusterIPs[0], "must be the same as clusterIP"))
	}
	for i, ip := range spec.ClusterIPs {
		if i > 0 && ip != corev1.ClusterIPNone {
			errs = append(errs, validation.IsValidIPForLegacyField(path.Child("clusterIPs").Index(i), ip, true, nil)...)
		}
	}
	return errs
}

func validateSessionAffinity(spec *corev1.ServiceSpec, path *field.Path) field.ErrorList {
	if !slices.Contains(sessionAffinities, spec.SessionAffinity) {
		return field.ErrorList{field.NotSupported(path.Child("sessionAffinity"), spec.SessionAffinity, sessionAffinities)}
	}
	cfg := spec.SessionAffinityConfig
	if spec.SessionAffinity != corev1.ServiceAffinityClientIP || cfg == nil || cfg.ClientIP == nil || cfg.ClientIP.TimeoutSeconds == nil {
		return nil
	}
	if t := *cfg.ClientIP.TimeoutSeconds; t < 1 || t > maxAffinityTimeout {
		p := path.Child("sessionAffinityConfig", "clientIP", "timeoutSeconds")
		return field.ErrorList{field.Invalid(p, t, validation.InclusiveRangeError(1, int(maxAffinityTimeout)))}
	}
	return nil
}

func validateTrafficPolicies(spec *corev1.ServiceSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p := spec.ExternalTrafficPolicy; p != "" {
		externallyReachable := spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer || len(spec.ExternalIPs) > 0
		switch {
		case !slices.Contains(externalPolicies, p):
			errs = append(errs, field.NotSupported(path.Child("externalTrafficPolicy"), p, externalPolicies))
		case !externallyReachable:
			errs = append(errs, field.Invalid(path.Child("externalTrafficPolicy"), p, "may only be set for externally-accessible services"))
		}
	}
	if p := spec.InternalTrafficPolicy; p != nil && !slices.Contains(internalPolicies, *p) {
		errs = append(errs, field.NotSupported(path.Child("internalTrafficPolicy"), *p, internalPolicies))
	}
	return errs
}

func validateIPFamilies(spec *corev1.ServiceSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p := spec.IPFamilyPolicy; p != nil && !slices.Contains(ipFamilyPolicies, *p) {
		errs = append(errs, field.NotSupported(path.Child("ipFamilyPolicy"), *p, ipFamilyPolicies))
	}
	if len(spec.IPFamilies) > 2 {
		errs = append(errs, field.TooMany(path.Child("ipFamilies"), len(spec.IPFamilies), 2))
	}
	seen := sets.New[corev1.IPFamily]()
	for i, f := range spec.IPFamilies {
		if !slices.Contains(ipFamilies, f) {
			errs = append(errs, field.NotSupported(path.Child("ipFamilies").Index(i), f, ipFamilies))
		} else if seen.Has(f) {
			errs = append(errs, field.Duplicate(path.Child("ipFamilies").Index(i), f))
		}
		seen.Insert(f)
	}
	return errs
}

// validateEndpointSlice checks a slice like the API server does, with two deliberate
// differences for a mesh that runs without a cluster: loopback and other special
// addresses are allowed (local backends on 127.0.0.1 are the common case for file
// manifests), and a port number, when set, must be a usable port (1 to 65535).
func validateEndpointSlice(s *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	if s.AddressType == "" {
		errs = append(errs, field.Required(field.NewPath("addressType"), ""))
	} else if !slices.Contains(addressTypes, s.AddressType) {
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), s.AddressType, addressTypes))
	}
	errs = append(errs, validateSliceEndpoints(s.Endpoints, s.AddressType, field.NewPath("endpoints"))...)
	return append(errs, validateSlicePorts(s.Ports, field.NewPath("ports"))...)
}

func validateSliceEndpoints(endpoints []discoveryv1.Endpoint, addressType discoveryv1.AddressType, path *field.Path) field.ErrorList {
	if len(endpoints) > maxSliceEndpoints {
		return field.ErrorList{field.TooMany(path, len(endpoints), maxSliceEndpoints)}
	}
	var errs field.ErrorList
	for i, ep := range endpoints {
		ip := path.Index(i)
		addrs := ip.Child("addresses")
		switch {
		case len(ep.Addresses) == 0:
			errs = append(errs, field.Required(addrs, "must contain at least 1 address"))
		case len(ep.Addresses) > maxSliceAddresses:
			errs = append(errs, field.TooMany(addrs, len(ep.Addresses), maxSliceAddresses))
		}
		for j, a := range ep.Addresses {
			errs = append(errs, validateSliceAddress(a, addressType, addrs.Index(j))...)
		}
		if ep.Hostname != nil {
			errs = append(errs, dnsLabel(*ep.Hostname, ip.Child("hostname"))...)
		}
		if ep.NodeName != nil {
			errs = append(errs, dnsSubdomain(*ep.NodeName, ip.Child("nodeName"))...)
		}
	}
	return errs
}

func validateSliceAddress(addr string, addressType discoveryv1.AddressType, path *field.Path) field.ErrorList {
	switch addressType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
		if errs := validation.IsValidIPForLegacyField(path, addr, true, nil); len(errs) > 0 {
			return errs
		}
		ip, err := netip.ParseAddr(addr)
		if err != nil {
			return field.ErrorList{field.Invalid(path, addr, "must be a valid IP address")}
		}
		if (addressType == discoveryv1.AddressTypeIPv4) != ip.Unmap().Is4() {
			return field.ErrorList{field.Invalid(path, addr, "must be an "+string(addressType)+" address")}
		}
	case discoveryv1.AddressTypeFQDN:
		return validation.IsFullyQualifiedDomainName(path, addr)
	}
	return nil
}

func validateSlicePorts(ports []discoveryv1.EndpointPort, path *field.Path) field.ErrorList {
	if len(ports) > maxSlicePorts {
		return field.ErrorList{field.TooMany(path, len(ports), maxSlicePorts)}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i, p := range ports {
		pp := path.Index(i)
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name != "" {
			errs = append(errs, dnsLabel(name, pp.Child("name"))...)
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(pp.Child("name"), name))
		}
		names.Insert(name)
		if p.Protocol != nil && !slices.Contains(protocols, *p.Protocol) {
			errs = append(errs, field.NotSupported(pp.Child("protocol"), *p.Protocol, protocols))
		}
		if p.Port != nil {
			errs = append(errs, portNumber(*p.Port, pp.Child("port"))...)
		}
		if p.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*p.AppProtocol) {
				errs = append(errs, field.Invalid(pp.Child("appProtocol"), *p.AppProtocol, msg))
			}
		}
	}
	return errs
}

// validatePod checks what the mesh reads from a Pod: its node and its addresses. Unlike the
// API server it does not require containers: a manifest describes Pods that run elsewhere,
// and the mesh only needs their labels and IPs.
func validatePod(p *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	if p.Spec.NodeName != "" {
		errs = append(errs, dnsSubdomain(p.Spec.NodeName, field.NewPath("spec", "nodeName"))...)
	}
	status := field.NewPath("status")
	if p.Status.PodIP != "" {
		errs = append(errs, validation.IsValidIPForLegacyField(status.Child("podIP"), p.Status.PodIP, true, nil)...)
	}
	if len(p.Status.PodIPs) > 0 && p.Status.PodIPs[0].IP != p.Status.PodIP {
		errs = append(errs, field.Invalid(status.Child("podIPs").Index(0).Child("ip"), p.Status.PodIPs[0].IP, "must be the same as podIP"))
	}
	for i, ip := range p.Status.PodIPs {
		if i > 0 {
			errs = append(errs, validation.IsValidIPForLegacyField(status.Child("podIPs").Index(i).Child("ip"), ip.IP, true, nil)...)
		}
	}
	if p.Status.HostIP != "" {
		errs = append(errs, validation.IsValidIPForLegacyField(status.Child("hostIP"), p.Status.HostIP, true, nil)...)
	}
	return errs
}

// portNumber checks a required port number.
func portNumber(port int32, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsValidPortNum(int(port)) {
		errs = append(errs, field.Invalid(path, port, msg))
	}
	return errs
}

func dnsLabel(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

func dnsSubdomain(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}
