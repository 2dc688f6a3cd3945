package meshless

import (
	"sync"
	"sync/atomic"
)

// ConnTable counts the open connections this agent carries to each (Pod, service): the
// least-connections input of endpoint selection, and, for Pods on this node, the count that
// enforces maxConn. It outlives config reloads (the Caddy modules keep it in a usage pool),
// so that a reload neither forgets open connections nor lets a Pod take more than maxConn.
type ConnTable struct {
	m sync.Map // podKey + "\x00" + service → *atomic.Int64
}

func (t *ConnTable) counter(podKey, service string) *atomic.Int64 {
	k := podKey + "\x00" + service
	if c, ok := t.m.Load(k); ok {
		return c.(*atomic.Int64)
	}
	c, _ := t.m.LoadOrStore(k, new(atomic.Int64))
	return c.(*atomic.Int64)
}

// ActiveConns implements policy.ActiveConns.
func (t *ConnTable) ActiveConns(podKey, service string) int {
	if c, ok := t.m.Load(podKey + "\x00" + service); ok {
		return int(c.(*atomic.Int64).Load())
	}
	return 0
}

// Acquire counts one more connection to the Pod's service unless that would pass max (0
// means no limit). It reports whether the connection was counted; the caller must call the
// returned release exactly once when the connection ends.
func (t *ConnTable) Acquire(podKey, service string, max int) (release func(), ok bool) {
	c := t.counter(podKey, service)
	if n := c.Add(1); max > 0 && n > int64(max) {
		c.Add(-1)
		return nil, false
	}
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			c.Add(-1)
		}
	}, true
}
