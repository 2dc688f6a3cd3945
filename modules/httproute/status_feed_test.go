package httproute

import (
	"context"
	"testing"

	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
)

// TestStatusFeedKeepsNewest checks that pushing never blocks the translation loop and
// that a translation still waiting is replaced by a newer one.
func TestStatusFeedKeepsNewest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	reporter := newStatusReporter(ctx, gatewayapi.ControllerName, zap.NewNop())
	f := newStatusFeed(ctx, reporter)
	cancel()
	f.wait() // nothing consumes from here on

	results := []*gatewayapi.Result{{}, {}, {}}
	for _, res := range results {
		f.push(res) // must not block
	}
	if got := <-f.next; got != results[2] {
		t.Error("the waiting translation is not the newest")
	}
	select {
	case <-f.next:
		t.Error("more than one translation waits")
	default:
	}
}
