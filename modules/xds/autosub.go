package xds

import (
	"slices"

	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// depChanges collects, per type, the names whose subscription auto-subscription changed
// while one response (or unsubscription) was applied. It records each name's state before
// the first change, so that a name one listener drops and another picks up in the same
// response is no change at all.
type depChanges map[*typeState]map[string]bool

// touch remembers whether name was subscribed before it is changed.
func (d *depChanges) touch(ts *typeState, name string) {
	if *d == nil {
		*d = make(depChanges)
	}
	m := (*d)[ts]
	if m == nil {
		m = make(map[string]bool)
		(*d)[ts] = m
	}
	if _, ok := m[name]; !ok {
		m[name] = ts.sub.named(name)
	}
}

// diff returns the names of ts that became subscribed and those that no longer are.
func (d depChanges) diff(ts *typeState) (added, removed []string) {
	for name, was := range d[ts] {
		now := ts.sub.named(name)
		switch {
		case now && !was:
			added = append(added, name)
		case was && !now:
			removed = append(removed, name)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// references returns what a resource makes the client subscribe to: the route
// configurations of a listener's HTTP connection managers, the endpoints of an EDS
// cluster. Names that do not parse are left out; the subscription would fail anyway.
func references(res resource.Resource) (TypeURL, []string) {
	var url TypeURL
	var names []string
	switch v := res.(type) {
	case *resource.Listener:
		url, names = RouteType, v.RouteConfigNames()
	case *resource.Cluster:
		if v.Discovery != resource.DiscoveryEDS {
			return "", nil
		}
		url, names = EndpointType, []string{v.EDSName()}
	default:
		return "", nil
	}
	out := names[:0:0]
	for _, n := range names {
		if c, err := canonicalName(n); err == nil {
			out = append(out, c)
		}
	}
	return url, out
}

// updateDeps follows the references of the resources a response accepted and removed,
// when WithAutoSubscribe is on. A rejected resource is in neither, so its last good
// version keeps its references.
func (l *loop) updateDeps(ts *typeState, accepted map[string]resource.Resource, removed []string) depChanges {
	if !l.c.opts.autoSubscribe || (ts.url != ListenerType && ts.url != ClusterType) {
		return nil
	}
	var d depChanges
	for name, res := range accepted {
		url, refs := references(res)
		l.setDeps(ts, name, url, refs, &d)
	}
	for _, name := range removed {
		l.setDeps(ts, name, "", nil, &d)
	}
	return d
}

// setDeps replaces the references of one resource.
func (l *loop) setDeps(ts *typeState, name string, url TypeURL, refs []string, d *depChanges) {
	old := ts.deps[name]
	if len(old) == 0 && len(refs) == 0 {
		return
	}
	if url == "" {
		url = childType(ts.url)
	}
	child := l.typeState(url)
	for _, n := range refs {
		if !slices.Contains(old, n) {
			d.touch(child, n)
			child.sub.addAuto(n)
		}
	}
	for _, n := range old {
		if !slices.Contains(refs, n) {
			d.touch(child, n)
			child.sub.removeAuto(n)
		}
	}
	if len(refs) == 0 {
		delete(ts.deps, name)
		return
	}
	if ts.deps == nil {
		ts.deps = make(map[string][]string)
	}
	ts.deps[name] = refs
}

// childType is the type a parent type's resources refer to.
func childType(parent TypeURL) TypeURL {
	if parent == ListenerType {
		return RouteType
	}
	return EndpointType
}

// applyDeps tells the server about the subscription changes auto-subscription made.
func (l *loop) applyDeps(d depChanges) {
	for _, url := range l.order {
		ts := l.types[url]
		if _, ok := d[ts]; !ok {
			continue
		}
		added, removed := d.diff(ts)
		if len(added) > 0 || len(removed) > 0 {
			l.resubscribe(ts, added, removed, false)
		}
	}
}
