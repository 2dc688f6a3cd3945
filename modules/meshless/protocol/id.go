package protocol

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxIDLength is the longest service ID a request can carry: its length is one byte.
const MaxIDLength = 255

// ServiceID names one service of one meshlet: "<service>.<meshlet>.<namespace>" on the
// wire, each part a DNS-1123 label.
type ServiceID struct {
	Service   string
	Meshlet   string
	Namespace string
}

// String returns the wire form, "<service>.<meshlet>.<namespace>".
func (id ServiceID) String() string { return id.Service + "." + id.Meshlet + "." + id.Namespace }

// ParseServiceID parses and validates the wire form of a service ID.
func ParseServiceID(s string) (ServiceID, error) {
	if len(s) == 0 || len(s) > MaxIDLength {
		return ServiceID{}, fmt.Errorf("service ID must be 1 to %d bytes, got %d", MaxIDLength, len(s))
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return ServiceID{}, fmt.Errorf("service ID %q must be <service>.<meshlet>.<namespace>", s)
	}
	id := ServiceID{Service: parts[0], Meshlet: parts[1], Namespace: parts[2]}
	return id, id.Validate()
}

// Validate checks that each part is a DNS-1123 label and that the wire form fits a request.
func (id ServiceID) Validate() error {
	for _, p := range []struct{ name, value string }{
		{"service", id.Service}, {"meshlet", id.Meshlet}, {"namespace", id.Namespace},
	} {
		if msgs := validation.IsDNS1123Label(p.value); len(msgs) > 0 {
			return fmt.Errorf("service ID: %s %q: %s", p.name, p.value, strings.Join(msgs, "; "))
		}
	}
	if n := len(id.Service) + len(id.Meshlet) + len(id.Namespace) + 2; n > MaxIDLength {
		return fmt.Errorf("service ID %q is %d bytes, more than %d", id, n, MaxIDLength)
	}
	return nil
}
