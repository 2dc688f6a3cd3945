package policy

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/caddymesh/caddymesh/modules/collection"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

// Policy makes the per-connection decisions of a node agent from the mesh's Meshlets and
// Pods. It derives, and keeps current as its inputs change, each Pod's meshlet label, one
// compiled view per Meshlet and one endpoint snapshot per serving Meshlet, so that a
// decision costs a few map reads and a pass over the destination's own Pods, never a scan
// of the cluster.
//
// A Policy is safe for concurrent use. Stop it when done, to detach its derived views from
// the input collections and end their goroutines.
type Policy struct {
	// callers are the Pods reduced to their meshlet label, by "namespace/name": all that a
	// caller lookup needs, in a view that Pod status changes leave alone.
	callers *collection.Derived[podCaller]
	// meshlets are the compiled Meshlets, by "namespace/name": who may call what.
	meshlets *collection.Derived[*meshlet]
	// backends join each compiled Meshlet with its selected Pods, by "namespace/name".
	backends *collection.Derived[*backend]
}

// New derives a Policy from the Meshlets and Pods of the mesh, as the mesh app's registry
// publishes them (Pods keyed "namespace/name"). The inputs must hold every Pod that may be
// a destination, not only the local node's.
func New(meshlets collection.Collection[*meshlessv1.Meshlet], pods collection.Collection[*corev1.Pod]) *Policy {
	compiled := collection.Map(meshlets, compileMeshlet,
		collection.WithName("meshless-policy-meshlets"),
		collection.WithKey(func(m *meshlet) string { return m.key }))
	backends := collection.Join(compiled, pods, meshletJoinKeys, podJoinKeys, buildBackend,
		collection.WithName("meshless-policy-backends"),
		collection.WithKey(backendKey))
	callers := collection.Map(pods, callerOf,
		collection.WithName("meshless-policy-callers"),
		collection.WithKey(func(c podCaller) string { return c.key }))
	return &Policy{callers: callers, meshlets: compiled, backends: backends}
}

// HasSynced reports whether the decisions reflect a complete first view of both inputs.
// Before that, a destination that exists may still look unknown.
func (p *Policy) HasSynced() bool {
	return p.callers.HasSynced() && p.meshlets.HasSynced() && p.backends.HasSynced()
}

// WaitSynced blocks until HasSynced is true or ctx is done: an agent waits for it before it
// answers its first request, rather than refusing calls that would be allowed a moment
// later.
func (p *Policy) WaitSynced(ctx context.Context) error {
	return collection.WaitSynced(ctx, p.callers, p.meshlets, p.backends)
}

// Stop detaches the Policy from its inputs and ends its goroutines. Decisions keep working
// on the last state but no longer follow changes.
func (p *Policy) Stop() {
	p.callers.Stop()
	p.backends.Stop()
	p.meshlets.Stop()
}
