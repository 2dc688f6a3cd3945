package collection

import (
	"slices"
	"sync"
)

// Join derives at most one output per item of a, computed by f from that item and the items
// of b that share a join key with it. aOn and bOn return an item's join keys (a Service's
// "namespace/name", and the Service an EndpointSlice belongs to, say). A change to an item of
// a recomputes that item; a change to an item of b recomputes only the items of a that share
// one of its old or new join keys. f receives the matching items of b sorted by key.
func Join[A, B, O any](a Collection[A], b Collection[B], aOn func(A) []string, bOn func(B) []string,
	f func(A, []B) (O, bool), opts ...Option) *Derived[O] {
	name, key, equal := buildOptions[O]("join("+a.Name()+","+b.Name()+")", opts)
	j := &join[A, B, O]{
		Derived: &Derived[O]{store: newStore(name, key, equal)},
		f:       f, aOn: aOn, bOn: bOn,
		as: make(map[string]A), aKeys: make(map[string][]string), aByJK: make(map[string]map[string]struct{}),
		bs: make(map[string]map[string]B), bKeys: make(map[string][]string),
	}
	j.own = newOwners(j.store)
	wa := a.subscribe(j.onA)
	wb := b.subscribe(j.onB)
	j.subs = append(j.subs, wa, wb)
	return j.Derived
}

type join[A, B, O any] struct {
	*Derived[O]
	f   func(A, []B) (O, bool)
	aOn func(A) []string
	bOn func(B) []string

	// mu serialises the two inputs' goroutines; no user code can reach it.
	mu               sync.Mutex
	own              *owners[O]
	as               map[string]A                   // a's items
	aKeys            map[string][]string            // a key → its join keys
	aByJK            map[string]map[string]struct{} // join key → a keys
	bs               map[string]map[string]B        // join key → b key → b item
	bKeys            map[string][]string            // b key → its join keys
	aSynced, bSynced bool
	buf              changeBuf[O]
}

func (j *join[A, B, O]) onA(_ *watcher[A], events []Event[A], synced bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopped.Load() {
		return // stopped from inside f while this call waited for the lock
	}
	j.aSynced = synced
	changes := j.buf.get()
	for _, e := range events {
		for _, jk := range j.aKeys[e.Key] {
			removeFrom(j.aByJK, jk, e.Key)
		}
		if e.Type == Deleted {
			delete(j.as, e.Key)
			delete(j.aKeys, e.Key)
			changes = j.own.setOne(e.Key, *new(O), false, changes)
			continue
		}
		jks := j.aOn(e.New)
		j.as[e.Key], j.aKeys[e.Key] = e.New, jks
		for _, jk := range jks {
			addTo(j.aByJK, jk, e.Key, struct{}{})
		}
		changes = j.recompute(e.Key, changes)
	}
	j.write(changes, j.aSynced && j.bSynced)
	j.buf.put(changes)
}

func (j *join[A, B, O]) onB(_ *watcher[B], events []Event[B], synced bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopped.Load() {
		return
	}
	j.bSynced = synced
	touched := make(map[string]struct{})
	for _, e := range events {
		for _, jk := range j.bKeys[e.Key] {
			removeFrom(j.bs, jk, e.Key)
			touched[jk] = struct{}{}
		}
		if e.Type == Deleted {
			delete(j.bKeys, e.Key)
			continue
		}
		jks := j.bOn(e.New)
		j.bKeys[e.Key] = jks
		for _, jk := range jks {
			addTo(j.bs, jk, e.Key, e.New)
			touched[jk] = struct{}{}
		}
	}
	changes := j.buf.get()
	done := make(map[string]struct{})
	for jk := range touched {
		for ak := range j.aByJK[jk] {
			if _, ok := done[ak]; !ok {
				done[ak] = struct{}{}
				changes = j.recompute(ak, changes)
			}
		}
	}
	j.write(changes, j.aSynced && j.bSynced)
	j.buf.put(changes)
}

// recompute runs f for one item of a over its current matches in b.
func (j *join[A, B, O]) recompute(aKey string, changes []change[O]) []change[O] {
	jks := j.aKeys[aKey]
	var bkeys []string
	for _, jk := range jks {
		for bk := range j.bs[jk] {
			bkeys = append(bkeys, bk)
		}
	}
	slices.Sort(bkeys)
	bkeys = slices.Compact(bkeys) // an item of b may match on several join keys
	matches := make([]B, 0, len(bkeys))
	for _, bk := range bkeys {
		for _, jk := range jks {
			if v, ok := j.bs[jk][bk]; ok {
				matches = append(matches, v)
				break
			}
		}
	}
	o, ok := j.f(j.as[aKey], matches)
	return j.own.setOne(aKey, o, ok, changes)
}

func addTo[V any](m map[string]map[string]V, outer, inner string, v V) {
	s := m[outer]
	if s == nil {
		s = make(map[string]V, 1)
		m[outer] = s
	}
	s[inner] = v
}

func removeFrom[V any](m map[string]map[string]V, outer, inner string) {
	if s := m[outer]; s != nil {
		delete(s, inner)
		if len(s) == 0 {
			delete(m, outer)
		}
	}
}
