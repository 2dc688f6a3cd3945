package collection

import (
	"testing"
	"time"
)

type ptrKeyed struct{ N string }

func (p *ptrKeyed) Key() string { return "p:" + p.N }

// embedsKeyed gets Key from an embedded type.
type embedsKeyed struct {
	item
	Extra int
}

type eqByName struct{ Name, Noise string }

func (a eqByName) Key() string           { return a.Name }
func (a eqByName) Equal(b eqByName) bool { return a.Name == b.Name }

func TestDefaultKeyAndEqualMethods(t *testing.T) {
	if got := DefaultKey[*ptrKeyed]()(&ptrKeyed{N: "a"}); got != "p:a" {
		t.Errorf("pointer receiver: %q", got)
	}
	if got := DefaultKey[embedsKeyed]()(embedsKeyed{item: item{Name: "e"}}); got != "e" {
		t.Errorf("promoted method: %q", got)
	}
	if got := DefaultKey[Keyed]()(item{Name: "i"}); got != "i" {
		t.Errorf("interface type: %q", got)
	}
	if !DefaultEqual[eqByName]()(eqByName{"a", "x"}, eqByName{"a", "y"}) {
		t.Error("Equal method not used")
	}
	now := time.Now()
	if !DefaultEqual[time.Time]()(now, now.UTC()) {
		t.Error("time.Time.Equal not used")
	}
}

// TestKeyAndEqualDoNotAllocate: the key and equality of a struct value are computed on
// every write, and must not box the value.
func TestKeyAndEqualDoNotAllocate(t *testing.T) {
	key := DefaultKey[item]()
	eq := DefaultEqual[item]()
	eq2 := DefaultEqual[eqByName]()
	v := item{Name: "a", Group: "g", Value: 1}
	w := eqByName{"a", "b"}
	var sink bool
	if n := testing.AllocsPerRun(100, func() { sink = key(v) == "" || eq(v, v) || eq2(w, w) }); n != 0 {
		t.Errorf("%v allocations per key and equality", n)
	}
	_ = sink
}
