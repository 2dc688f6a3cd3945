package gatewayapi

import "slices"

// rank orders every table route of every attached route by precedence, so that
// assembling a virtual host needs no sorting. With a Cache, the last translation's order
// is kept for the routes that are still attached, and only the new ones are sorted and
// merged in: one route changed costs a merge, not a sort of everything.
func (t *translation) rank() {
	var prev, spare []*entry
	if t.cache != nil {
		prev, spare = t.cache.ranked, t.cache.spare
	}
	kept := prev
	if len(t.dropped) > 0 {
		kept = removeRanked(prev, entriesOf(t.dropped))
	}
	fresh := entriesOf(t.fresh)
	for _, r := range t.fresh {
		r.ranked = true
	}
	if len(fresh) == 0 {
		t.ranked, t.spare = kept, spare
		return
	}
	t.ranked = mergeRanked(spare[:0], kept, fresh)
	t.spare = kept[:0]
	clear(t.spare[:cap(t.spare)]) // drop what the spare list held, for the collector
}

// entriesOf is the routes' table routes, sorted by precedence.
func entriesOf(routes []*compiledRoute) []*entry {
	var out []*entry
	for _, r := range routes {
		out = append(out, r.entries...)
	}
	slices.SortFunc(out, compareEntries)
	return out
}

// removeRanked removes gone, a sorted subset of ranked, from ranked, in place. Both
// are in the same order, so one walk comparing pointers finds them.
func removeRanked(ranked, gone []*entry) []*entry {
	out := ranked[:0]
	j := 0
	for _, e := range ranked {
		if j < len(gone) && e == gone[j] {
			j++
			continue
		}
		out = append(out, e)
	}
	return out
}

// mergeRanked appends to out the merge of a, long, and b, short, both sorted by
// precedence: each of b's entries finds its place in a by binary search, and the runs
// of a between them are copied, so that merging a few routes into 20,000 compares a
// few hundred entries.
func mergeRanked(out, a, b []*entry) []*entry {
	for _, e := range b {
		i, _ := slices.BinarySearchFunc(a, e, compareEntries)
		out = append(out, a[:i]...)
		out = append(out, e)
		a = a[i:]
	}
	return append(out, a...)
}

// place files the ranked table routes in the groups of the programmed listeners and
// domains that serve them. Walking the routes in precedence order leaves every group in
// that order.
//
// With the last translation's gateway states taken over, the groups still hold what they
// held then, in order, and only the routes that left and those that came are taken out
// and put in.
func (t *translation) place() {
	if t.kept {
		for _, r := range t.dropped {
			r.placed(func(g *group) { g.remove(r.entries) })
		}
		for _, r := range t.fresh {
			r.placed(func(g *group) { g.insert(r.entries) })
		}
		return
	}
	for _, e := range t.ranked {
		e.owner.placed(func(g *group) { g.entries = append(g.entries, e) })
	}
}

// placed calls f with each group of a programmed listener the route is placed in.
func (r *compiledRoute) placed(f func(*group)) {
	for _, p := range r.placements {
		if p.listener.programmed() {
			for _, g := range p.groups {
				f(g)
			}
		}
	}
}
