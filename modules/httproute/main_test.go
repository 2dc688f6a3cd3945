package httproute

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: a compile loop, a
// listener, a mirror, a proxy's connection. The one exception is reverse_proxy's
// process-wide janitor of dynamic upstream hosts, which Caddy starts once and never stops.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy.(*Upstream).fillDynamicHost.func1.1"))
}
