package gatewayapi

import "slices"

// group is the table routes a listener serves for one domain, in precedence order. With
// gateway states taken over from the last translation, changed says whether this one
// changed the group, and removed marks a group dropped for staying empty.
type group struct {
	entries []*entry
	changed bool
	removed bool
}

// insert puts entries into the group, each in its place by precedence.
func (g *group) insert(entries []*entry) {
	for _, e := range entries {
		i, _ := slices.BinarySearchFunc(g.entries, e, compareEntries)
		g.entries = slices.Insert(g.entries, i, e)
	}
	g.changed = true
}

// remove takes entries out of the group.
func (g *group) remove(entries []*entry) {
	for _, e := range entries {
		if i, ok := slices.BinarySearchFunc(g.entries, e, compareEntries); ok && g.entries[i] == e {
			g.entries = slices.Delete(g.entries, i, i+1)
		}
	}
	g.changed = true
}

// reset makes gateway states a new translation takes over ready for it: no routes
// counted as attached, groups as they were (those left empty are dropped).
func (g *gatewayState) reset() {
	for _, l := range g.listeners {
		l.attachedRoutes, l.grew = 0, false
		for d, grp := range l.groups {
			if len(grp.entries) == 0 {
				grp.removed = true
				delete(l.groups, d)
				continue
			}
			grp.changed = false
		}
	}
}

// groupFor returns the listener's group for domain d, creating it.
func (l *listenerState) groupFor(d string) *group {
	g := l.groups[d]
	if g == nil {
		g = &group{}
		l.groups[d] = g
		l.grew = true
	}
	return g
}
