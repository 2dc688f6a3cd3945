package resource

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
)

// durationOr converts a Duration field, returning def when it is unset. A duration out of
// the proto's range or negative is recorded as a problem: Envoy rejects it, and silently
// clamping it would give a timeout nobody configured.
func durationOr(ps *problems, at *path, d *durationpb.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	if err := d.CheckValid(); err != nil {
		ps.addf(at, "invalid duration: %v", err)
		return def
	}
	v := d.AsDuration()
	if v < 0 {
		ps.addf(at, "duration %v is negative", v)
		return def
	}
	return v
}
