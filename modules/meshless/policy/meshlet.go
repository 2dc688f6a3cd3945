package policy

import (
	"slices"
	"time"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// meshlet is a Meshlet compiled for per-connection lookups: the client list becomes a set,
// the services a map, so that a decision costs a few map reads however long the lists are.
// It is built once per Meshlet change, off the connection path, and never modified after,
// so every connection reads it without a lock.
type meshlet struct {
	key       string // "namespace/name", the collection key
	namespace string
	name      string

	// clients is spec.client: the services this meshlet may call.
	clients map[protocol.ServiceID]struct{}

	// server is a deep copy of spec.server, or nil: handed to the agent in every
	// Destination, so that nothing the agent does can reach into the collection's object.
	server *meshlessv1.Server
	// services is server.services by name.
	services map[string]service
	// joinKey is the one selector label that Pods are joined on (see podJoinKeys), or ""
	// when the meshlet serves nothing.
	joinKey string
}

// service is what a connection needs of one ServerService.
type service struct {
	maxConn     int           // 0: no limit
	idleTimeout time.Duration // 0: none
}

// compileMeshlet is the pure translation of a Meshlet; it keeps every Meshlet, since even
// one that serves nothing is a caller.
func compileMeshlet(m *meshlessv1.Meshlet) (*meshlet, bool) {
	c := &meshlet{
		key:       m.Namespace + "/" + m.Name,
		namespace: m.Namespace,
		name:      m.Name,
		clients:   make(map[protocol.ServiceID]struct{}, len(m.Spec.Client)),
	}
	for _, r := range m.Spec.Client {
		c.clients[protocol.ServiceID{Service: r.Service, Meshlet: r.Meshlet, Namespace: r.Namespace}] = struct{}{}
	}
	if s := m.Spec.Server; s != nil {
		c.server = s.DeepCopy()
		c.services = make(map[string]service, len(s.Services))
		for _, svc := range s.Services {
			if _, dup := c.services[svc.Name]; !dup { // validation forbids repeats; the first wins
				c.services[svc.Name] = compileService(svc)
			}
		}
		c.joinKey = selectorJoinKey(m.Namespace, s.Selector)
	}
	return c, true
}

// compileService reads the optional limits. Values that validation rejects (maxConn < 1, a
// negative timeout) mean "unset" here rather than "refuse everything": sources reject such
// Meshlets before they reach a collection, so only hand-built objects can carry them.
func compileService(s meshlessv1.ServerService) service {
	var out service
	if s.MaxConn != nil && *s.MaxConn > 0 {
		out.maxConn = int(*s.MaxConn)
	}
	if s.IdleTimeout != nil && s.IdleTimeout.Duration > 0 {
		out.idleTimeout = s.IdleTimeout.Duration
	}
	return out
}

// selectorJoinKey picks the selector label that Pods are joined on: any one label narrows
// the Pods to examine to those carrying it, and the smallest key makes the choice stable.
// An empty selector joins nothing: it would select every Pod of the namespace, which the
// Meshlet schema forbids for that reason.
func selectorJoinKey(namespace string, selector map[string]string) string {
	if len(selector) == 0 {
		return ""
	}
	keys := make([]string, 0, len(selector))
	for k := range selector {
		keys = append(keys, k)
	}
	k := slices.Min(keys)
	return joinKey(namespace, k, selector[k])
}

// joinKey files a label of a namespace. NUL cannot occur in a namespace, label key or
// value, so distinct labels never share a key.
func joinKey(namespace, key, value string) string {
	return namespace + "\x00" + key + "\x00" + value
}
