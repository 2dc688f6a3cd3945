package httproute

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: a compile loop, a
// listener, a mirror, a proxy's connection. Two of Caddy's are let be: reverse_proxy's
// process-wide janitor of dynamic upstream hosts, which Caddy starts once and never stops,
// and certmagic's storage lock refresher, which outlives a stopped Caddy (loaded by the
// benchmarks) by up to five seconds.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy.(*Upstream).fillDynamicHost.func1.1"),
		goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"))
}
