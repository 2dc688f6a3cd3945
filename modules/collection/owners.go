package collection

import "slices"

// owners tracks which input produced which outputs of a derived collection, so that an input
// event recomputes only that input's outputs. When two inputs produce the same output key,
// the first keeps it and the other's value is shadowed until the first withdraws it; then
// the shadowed value of the smallest input key is promoted.
//
// Each input remembers its claims and whether it owns them, so that the common update (an
// input producing the same output key again) costs one map lookup: on a collection too big
// for the CPU's caches, lookups are most of the cost of an update.
//
// Most derivations keep their input's key (a Service becomes a model object of the same
// name). While every input has produced at most one output, under its own key, no two can
// collide and owners keeps no state at all: the output store says which inputs have an
// output. The first other output switches it to full bookkeeping, built from the store.
//
// owners is not safe for concurrent use: each derived collection drives it from one
// goroutine at a time, and is the only writer of its store.
type owners[O any] struct {
	out      *store[O]
	identity bool // every claim so far is an input's one output under its own key

	single map[string]claim        // input key → its one output (the common case)
	multi  map[string][]claim      // input key → its outputs, when more than one
	owner  map[string]string       // output key → input key whose value is visible
	shadow map[string]map[string]O // output key → values other inputs produced for it
}

// claim is one output key an input produces, and whether its value is the visible one.
type claim struct {
	key  string
	owns bool
}

func newOwners[O any](out *store[O]) *owners[O] {
	return &owners[O]{
		out:      out,
		identity: true,
		single:   make(map[string]claim),
		multi:    make(map[string][]claim),
		owner:    make(map[string]string),
		shadow:   make(map[string]map[string]O),
	}
}

// claims returns inKey's current claims. The slice may alias owners' state: read it only.
func (o *owners[O]) claims(inKey string, one *[1]claim) []claim {
	if c, ok := o.single[inKey]; ok {
		one[0] = c
		return one[:]
	}
	if len(o.multi) == 0 {
		return nil
	}
	return o.multi[inKey]
}

// setOne is set for at most one output (ok false: none), without allocating.
func (o *owners[O]) setOne(inKey string, v O, ok bool, changes []change[O]) []change[O] {
	if o.identity {
		if !ok {
			return append(changes, change[O]{key: inKey, del: true})
		}
		if o.out.keyOf(v) == inKey {
			return append(changes, change[O]{key: inKey, val: v})
		}
		o.materialize(changes)
	}
	var one [1]claim
	old := o.claims(inKey, &one)
	if !ok {
		return o.replace(inKey, old, nil, changes)
	}
	k := o.out.keyOf(v)
	c, found := findClaim(old, k)
	if found {
		changes = o.reclaim(inKey, c, v, changes)
		if len(old) == 1 {
			return changes // the same single output again: one lookup
		}
	} else {
		c, changes = o.claim(inKey, k, v, changes)
	}
	return o.replace(inKey, old, func(k2 string) bool { return k2 == k }, changes, c)
}

// materialize leaves identity mode: it records as claims the outputs the store holds and
// those pending, in order, in the write being built.
func (o *owners[O]) materialize(pending []change[O]) {
	o.identity = false
	own := func(k string) {
		o.owner[k] = k
		o.single[k] = claim{key: k, owns: true}
	}
	o.out.mu.RLock()
	for k := range o.out.items {
		own(k)
	}
	o.out.mu.RUnlock()
	for _, c := range pending {
		if c.del {
			delete(o.owner, c.key)
			delete(o.single, c.key)
		} else {
			own(c.key)
		}
	}
}

// set replaces the outputs of input inKey with vals, appending the resulting writes to
// changes. A nil vals withdraws every output of inKey. If vals holds a key twice, the later
// value wins.
func (o *owners[O]) set(inKey string, vals []O, changes []change[O]) []change[O] {
	if len(vals) <= 1 {
		var v O
		if len(vals) == 1 {
			v = vals[0]
		}
		return o.setOne(inKey, v, len(vals) == 1, changes)
	}
	if o.identity {
		o.materialize(changes)
	}
	var one [1]claim
	old := o.claims(inKey, &one)
	isOld := membership(old)
	claims := make([]claim, 0, len(vals))
	pos := make(map[string]int, len(vals)) // output key → its claim
	for _, v := range vals {
		k := o.out.keyOf(v)
		if i, dup := pos[k]; dup {
			changes = o.reclaim(inKey, claims[i], v, changes)
			continue
		}
		c, found := isOld(k)
		if found {
			changes = o.reclaim(inKey, c, v, changes)
		} else {
			c, changes = o.claim(inKey, k, v, changes)
		}
		pos[k] = len(claims)
		claims = append(claims, c)
	}
	return o.replace(inKey, old, func(k string) bool { _, ok := pos[k]; return ok }, changes, claims...)
}

// reclaim writes v under a key inKey already claims: visibly if it owns the key.
func (o *owners[O]) reclaim(inKey string, c claim, v O, changes []change[O]) []change[O] {
	if c.owns {
		return append(changes, change[O]{key: c.key, val: v})
	}
	o.shadow[c.key][inKey] = v
	return changes
}

func findClaim(claims []claim, k string) (claim, bool) {
	for _, c := range claims {
		if c.key == k {
			return c, true
		}
	}
	return claim{}, false
}

// replace withdraws inKey's old claims that keep does not keep (all if keep is nil), and
// records claims as its new ones.
func (o *owners[O]) replace(inKey string, old []claim, keep func(string) bool, changes []change[O], claims ...claim) []change[O] {
	if keep == nil {
		keep = func(string) bool { return false }
	}
	changes = o.withdrawAll(inKey, old, keep, changes)
	switch len(claims) {
	case 0:
		delete(o.single, inKey)
		delete(o.multi, inKey)
	case 1:
		delete(o.multi, inKey)
		o.single[inKey] = claims[0]
	default:
		delete(o.single, inKey)
		o.multi[inKey] = claims
	}
	return changes
}

// claim records that inKey, which did not produce k before, now produces v under k.
func (o *owners[O]) claim(inKey, k string, v O, changes []change[O]) (claim, []change[O]) {
	if _, taken := o.owner[k]; taken {
		sh := o.shadow[k]
		if sh == nil {
			sh = make(map[string]O, 1)
			o.shadow[k] = sh
		}
		sh[inKey] = v
		return claim{key: k}, changes
	}
	o.owner[k] = inKey
	return claim{key: k, owns: true}, append(changes, change[O]{key: k, val: v})
}

func (o *owners[O]) withdrawAll(inKey string, old []claim, keep func(string) bool, changes []change[O]) []change[O] {
	for _, c := range old {
		if !keep(c.key) {
			changes = o.withdraw(inKey, c, changes)
		}
	}
	return changes
}

// withdraw removes inKey's claim c, promoting a shadowed value if there is one.
func (o *owners[O]) withdraw(inKey string, c claim, changes []change[O]) []change[O] {
	k := c.key
	sh := o.shadow[k]
	if !c.owns {
		delete(sh, inKey)
		if len(sh) == 0 {
			delete(o.shadow, k)
		}
		return changes
	}
	if len(sh) == 0 {
		delete(o.owner, k)
		return append(changes, change[O]{key: k, del: true})
	}
	// Promote the smallest input key, so the winner does not depend on map order.
	next := slices.Min(mapKeys(sh))
	v := sh[next]
	delete(sh, next)
	if len(sh) == 0 {
		delete(o.shadow, k)
	}
	o.owner[k] = next
	o.markOwner(next, k)
	return append(changes, change[O]{key: k, val: v})
}

// markOwner records in input inKey's claims that it now owns k.
func (o *owners[O]) markOwner(inKey, k string) {
	if c, ok := o.single[inKey]; ok && c.key == k {
		o.single[inKey] = claim{key: k, owns: true}
		return
	}
	cs := o.multi[inKey]
	if i := slices.IndexFunc(cs, func(c claim) bool { return c.key == k }); i >= 0 {
		cs[i].owns = true
	}
}

// membership returns a lookup of claims by key: a linear scan for the usual handful of
// outputs per input, a map for large fan-outs so they do not go quadratic.
func membership(claims []claim) func(string) (claim, bool) {
	if len(claims) <= 16 {
		return func(k string) (claim, bool) { return findClaim(claims, k) }
	}
	set := make(map[string]claim, len(claims))
	for _, c := range claims {
		set[c.key] = c
	}
	return func(k string) (claim, bool) { c, ok := set[k]; return c, ok }
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
