package policy

import "math/rand/v2"

// ActiveConns reports how many connections of a service a Pod holds now. The agent
// implements it with its own counters; Pick asks it once per Pod it considers.
type ActiveConns interface {
	// ActiveConns returns the number of open connections to service on the Pod whose
	// Endpoint.Key is podKey.
	ActiveConns(podKey, service string) int
}

// ActiveConnsFunc adapts a function to ActiveConns.
type ActiveConnsFunc func(podKey, service string) int

// ActiveConns calls f.
func (f ActiveConnsFunc) ActiveConns(podKey, service string) int { return f(podKey, service) }

// Rand is the source of randomness Pick draws the canary version and the tie-breaks from.
// *math/rand/v2.Rand, *rand.PCG and *rand.ChaCha8 satisfy it; a seeded one makes picks
// repeatable in tests. A Rand used by concurrent Picks must be safe for concurrent use,
// which those are not: pass nil to use math/rand/v2's global source, which is.
type Rand interface{ Uint64() uint64 }

// globalRand is math/rand/v2's top-level source: safe for concurrent use, without a lock.
type globalRand struct{}

func (globalRand) Uint64() uint64 { return rand.Uint64() }
