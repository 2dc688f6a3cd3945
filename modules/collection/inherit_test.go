package collection

import (
	"sync/atomic"
	"testing"
)

// TestEqualityInherited: Filter and Merge hold the same items as their inputs, so they must
// judge changes by the inputs' equality, not by DefaultEqual. Here the input's equality
// calls every write a change (as a collection of versioned resources might), so re-writing
// an identical item must reach the derived collection's watchers too.
func TestEqualityInherited(t *testing.T) {
	everyWrite := WithEqual(func(a, b item) bool { return false })
	tests := []struct {
		name   string
		derive func(in *Static[item]) *Derived[item]
	}{
		{"filter", func(in *Static[item]) *Derived[item] { return Filter(in, func(item) bool { return true }) }},
		{"merge", func(in *Static[item]) *Derived[item] { return Merge([]Collection[item]{in}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := NewStatic[item](WithKey(func(i item) string { return i.Name }), everyWrite)
			out := tc.derive(in)
			defer out.Stop()
			var updates atomic.Int64
			cancel := out.Watch(func(e Event[item]) {
				if e.Type == Updated {
					updates.Add(1)
				}
			})
			defer cancel()
			a := item{Name: "a", Value: 1}
			in.Upsert(a)
			in.Upsert(a)
			waitFor(t, "the rewrite", func() bool { return updates.Load() == 1 })
		})
	}
}
