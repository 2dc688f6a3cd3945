package resource

import (
	"net"
	"net/netip"
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

// AddressKind says which of Envoy's address forms an Address holds, since a listener or
// endpoint may be a TCP/UDP socket, a Unix socket or an in-process internal listener.
type AddressKind uint8

// The address forms.
const (
	// AddressNone is an absent address.
	AddressNone AddressKind = iota
	// AddressSocket is an IP (or, for DNS clusters, host name) and port.
	AddressSocket
	// AddressPipe is a Unix domain socket path.
	AddressPipe
	// AddressInternal is an Envoy internal listener, reached in process.
	AddressInternal
)

var addressKindNames = []string{"None", "Socket", "Pipe", "Internal"}

// String returns the kind's name.
func (k AddressKind) String() string { return enumString(addressKindNames, int(k)) }

// MarshalText makes JSON show the kind's name.
func (k AddressKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Address is a listener's or endpoint's address in plain fields, flattened from the
// proto's oneofs.
type Address struct {
	// Kind says which of the fields below are set.
	Kind AddressKind
	// Host is the socket address as written: an IP literal, or a host name for the
	// endpoints of DNS clusters.
	Host string
	// IP is Host parsed, when it is an IP literal; the zero Addr otherwise.
	IP netip.Addr
	// Port is the socket port; 0 when unset or when NamedPort is used.
	Port uint32
	// NamedPort is the socket's named port, which Envoy resolves only for some listeners.
	NamedPort string
	// UDP is set for a UDP socket address; TCP otherwise.
	UDP bool
	// Path is the Unix socket path; a leading '@' means the abstract namespace.
	Path string
	// Mode is the Unix socket's file mode, as Envoy sets it on the path.
	Mode uint32
	// InternalListener is the name of the internal listener an internal address refers
	// to.
	InternalListener string
	// EndpointID tells apart several connections to the same internal listener.
	EndpointID string
}

// String renders the address for logs: "10.0.0.1:80", "unix:/run/a.sock",
// "internal:name", or "" when absent.
func (a Address) String() string {
	switch a.Kind {
	case AddressSocket:
		return net.JoinHostPort(a.Host, strconv.FormatUint(uint64(a.Port), 10))
	case AddressPipe:
		return "unix:" + a.Path
	case AddressInternal:
		return "internal:" + a.InternalListener
	}
	return ""
}

// buildAddress flattens an Address proto. Checks differ between listeners and endpoints,
// so they are left to the callers.
func buildAddress(a *corev3.Address) Address {
	switch {
	case a.GetSocketAddress() != nil:
		sa := a.GetSocketAddress()
		out := Address{
			Kind:      AddressSocket,
			Host:      sa.GetAddress(),
			Port:      sa.GetPortValue(),
			NamedPort: sa.GetNamedPort(),
			UDP:       sa.GetProtocol() == corev3.SocketAddress_UDP,
		}
		if ip, err := netip.ParseAddr(out.Host); err == nil {
			out.IP = ip
		}
		return out
	case a.GetPipe() != nil:
		return Address{Kind: AddressPipe, Path: a.GetPipe().GetPath(), Mode: a.GetPipe().GetMode()}
	case a.GetEnvoyInternalAddress() != nil:
		ia := a.GetEnvoyInternalAddress()
		return Address{Kind: AddressInternal, InternalListener: ia.GetServerListenerName(), EndpointID: ia.GetEndpointId()}
	}
	return Address{}
}
