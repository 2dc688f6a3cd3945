package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod labels that tie workloads to meshlets.
const (
	// LabelMeshlet, on a Pod, names the Meshlet (in the Pod's namespace) that the Pod belongs
	// to. Put it on the Pod template of a Deployment, StatefulSet or DaemonSet.
	LabelMeshlet = "meshless/meshlet"
	// LabelVersion, on a Pod, names the version of the workload that the Pod runs. It is
	// optional and only used to split connections between the versions listed in
	// Server.Canary.
	LabelVersion = "version"
)

// Meshlet is a logical workload: a client that uses services provided by other meshlets, a
// server that provides services for other meshlets to use, or both.
//
// A meshlet's name is the middle label of the Service ID "<service>.<meshlet>.<namespace>"
// that clients dial, so it must be a DNS-1123 label (no dots), not a subdomain.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,path=meshlets,singular=meshlet
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1123 label: it is a label of the Service ID"
type Meshlet struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec declares which services the meshlet uses and which it provides. Optional: an
	// empty spec declares a meshlet that neither uses nor provides services.
	// +optional
	Spec MeshletSpec `json:"spec,omitempty"`
}

// MeshletList is a list of Meshlets.
//
// +kubebuilder:object:root=true
type MeshletList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Meshlets.
	Items []Meshlet `json:"items"`
}

// MeshletSpec declares the two roles of a meshlet.
type MeshletSpec struct {
	// Client declares the services of other meshlets that this meshlet uses. It is the
	// access-control list of the meshlet: the node agent refuses to connect the meshlet to
	// any service not listed here. Optional; the default (empty) allows no service.
	// +optional
	// +listType=map
	// +listMapKey=namespace
	// +listMapKey=meshlet
	// +listMapKey=service
	Client []ServiceRef `json:"client,omitempty"`

	// Server declares the services this meshlet provides to other meshlets. Optional; the
	// default (unset) provides none.
	// +optional
	Server *Server `json:"server,omitempty"`
}

// ServiceRef names one service of one meshlet.
type ServiceRef struct {
	// Namespace is the namespace of the meshlet that provides the service. Required; a
	// DNS-1123 label.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace"`

	// Meshlet is the name of the meshlet that provides the service. Required; a DNS-1123
	// label.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Meshlet string `json:"meshlet"`

	// Service is the name of the service, as listed in the providing meshlet's
	// server.services. Required; a DNS-1123 label.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Service string `json:"service"`
}

// ID returns the Service ID that a client sends in its handshake to reach this service:
// "<service>.<meshlet>.<namespace>".
func (r ServiceRef) ID() string { return r.Service + "." + r.Meshlet + "." + r.Namespace }

// Server declares what a meshlet provides and which Pods provide it.
type Server struct {
	// Selector is the label selector, in the meshlet's namespace, of the Pods that provide
	// the services below. Required and non-empty: an empty selector would select every Pod
	// in the namespace.
	// +required
	// +kubebuilder:validation:MinProperties=1
	Selector map[string]string `json:"selector"`

	// Services are the services this meshlet provides. Each selected Pod listens for a
	// service on the Unix socket /meshlet/server/<name>. Required; at least one, with
	// unique names.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	Services []ServerService `json:"services"`

	// Canary splits new connections between versions of the selected Pods, told apart by
	// their "version" label (LabelVersion). Optional; the default (empty) does not look at
	// versions and uses every selected Pod alike.
	// +optional
	// +listType=map
	// +listMapKey=version
	Canary []CanaryVersion `json:"canary,omitempty"`
}

// ServerService is one service provided by a meshlet.
type ServerService struct {
	// Name is the name of the service: the first label of its Service ID and the file name
	// of its Unix socket. Required; a DNS-1123 label.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// MaxConn is the maximum number of concurrent connections to this service per Pod.
	// Optional; the default (unset) is no limit. At least 1 when set.
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxConn *int32 `json:"maxConn,omitempty"`

	// IdleTimeout closes a connection when no data has been sent on it for this long. It is
	// written in Go's time.ParseDuration format, such as "90s" or "1h30m", and must not be
	// negative. Optional; the default (unset) is no timeout, and "0s" also means no timeout.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^\+?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	IdleTimeout *metav1.Duration `json:"idleTimeout,omitempty"`
}

// CanaryVersion is the share of connections given to one version of a meshlet's Pods.
type CanaryVersion struct {
	// Version is the value of the "version" label (LabelVersion) on the Pods of this
	// version. Required; a valid label value.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Version string `json:"version"`

	// Weight is the relative share of new connections sent to Pods of this version, from 0
	// (none) to 100. Required.
	// +required
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`
}
