package gatewayapi

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// grantKey is everything a ReferenceGrant matches on except the target's name: which kind
// of object in which namespace may refer to which kind of object in the grant's namespace.
type grantKey struct {
	toNamespace                        string
	fromGroup, fromKind, fromNamespace string
	toGroup, toKind                    string
}

// grantTargets are the names a set of grants opens; all is set when one of them names no
// object, which opens every object of the kind.
type grantTargets struct {
	all   bool
	names map[string]struct{}
}

// grantIndex answers "is this cross-namespace reference permitted" with one map lookup, so
// that checking every backendRef of 10,000 routes does not scan every grant each time.
type grantIndex map[grantKey]*grantTargets

// newGrantIndex indexes every from × to pair of every grant. A grant only ever permits
// references into its own namespace.
func newGrantIndex(grants []*gatewayv1.ReferenceGrant) grantIndex {
	idx := make(grantIndex)
	for _, g := range grants {
		if g == nil {
			continue
		}
		for _, from := range g.Spec.From {
			for _, to := range g.Spec.To {
				k := grantKey{
					toNamespace:   g.Namespace,
					fromGroup:     string(from.Group),
					fromKind:      string(from.Kind),
					fromNamespace: string(from.Namespace),
					toGroup:       string(to.Group),
					toKind:        string(to.Kind),
				}
				t := idx[k]
				if t == nil {
					t = &grantTargets{}
					idx[k] = t
				}
				if to.Name == nil || *to.Name == "" {
					t.all = true
					continue
				}
				if t.names == nil {
					t.names = make(map[string]struct{})
				}
				t.names[string(*to.Name)] = struct{}{}
			}
		}
	}
	return idx
}

// objectRef names one end of a reference: its group ("" for the core group), kind,
// namespace and (for the target) name.
type objectRef struct {
	group, kind, namespace, name string
}

// permits reports whether from may refer to to. References within one namespace need no
// grant; the Gateway API requires a ReferenceGrant in the target's namespace for any other.
func (idx grantIndex) permits(from, to objectRef) bool {
	if from.namespace == to.namespace {
		return true
	}
	t := idx[grantKey{
		toNamespace:   to.namespace,
		fromGroup:     from.group,
		fromKind:      from.kind,
		fromNamespace: from.namespace,
		toGroup:       to.group,
		toKind:        to.kind,
	}]
	if t == nil {
		return false
	}
	if t.all {
		return true
	}
	_, ok := t.names[to.name]
	return ok
}
