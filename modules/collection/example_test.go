package collection_test

import (
	"fmt"

	"github.com/caddymesh/caddymesh/modules/collection"
)

type policy struct {
	Name           string
	MaxConnections int
}

func (p policy) Key() string { return p.Name }

// A user-defined singleton: the default connection limit is the smallest limit any policy
// asks for, or 1024 when there is none.
func ExampleReduce() {
	policies := collection.NewStatic[policy]()
	limit := collection.Reduce(policies, func(ps []policy) int {
		m := 1024
		for _, p := range ps {
			m = min(m, p.MaxConnections)
		}
		return m
	})
	defer limit.Stop()

	policies.Reset([]policy{{"a", 200}, {"b", 100}})
	<-limit.Synced()
	fmt.Println(limit.Value())
	// Output: 100
}

// Count keeps the number of items incrementally.
func ExampleCount() {
	policies := collection.NewStatic[policy]()
	n := collection.Count(policies)
	defer n.Stop()
	policies.Reset([]policy{{"a", 1}, {"b", 2}, {"c", 3}})
	<-n.Synced()
	fmt.Println(n.Value())
	// Output: 3
}

// Map, Filter and Watch: the names of large policies, as they change.
func ExampleFilter() {
	policies := collection.NewStatic[policy]()
	large := collection.Filter(policies, func(p policy) bool { return p.MaxConnections >= 100 })
	defer large.Stop()

	seen := make(chan string)
	cancel := large.Watch(func(e collection.Event[policy]) { seen <- e.Type.String() + " " + e.Key })
	defer cancel()

	policies.Upsert(policy{"small", 10}, policy{"big", 500})
	fmt.Println(<-seen)
	policies.Upsert(policy{"big", 5})
	fmt.Println(<-seen)
	// Output:
	// added big
	// deleted big
}
