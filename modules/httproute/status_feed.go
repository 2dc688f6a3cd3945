package httproute

import (
	"context"
	"sync"

	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
)

// statusFeed hands translations to the status reporter off the translation loop. The
// reporter compares every status with what it wrote last, which for 10,000 routes takes
// a couple of hundred milliseconds: done in the loop, that would hold up serving the
// change after. Only the newest translation waits; an older one still waiting is
// superseded, as the reporter would supersede its statuses anyway.
type statusFeed struct {
	reporter *statusReporter
	next     chan *gatewayapi.Result // holds at most the newest
	wg       sync.WaitGroup
}

// newStatusFeed starts feeding reporter until ctx ends.
func newStatusFeed(ctx context.Context, reporter *statusReporter) *statusFeed {
	f := &statusFeed{reporter: reporter, next: make(chan *gatewayapi.Result, 1)}
	f.wg.Add(1)
	go f.run(ctx)
	return f
}

func (f *statusFeed) run(ctx context.Context) {
	defer f.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case res := <-f.next:
			f.reporter.submit(res)
		}
	}
}

// push queues res in place of any translation still waiting. It never blocks.
func (f *statusFeed) push(res *gatewayapi.Result) {
	for {
		select {
		case f.next <- res:
			return
		default:
		}
		select {
		case <-f.next: // superseded
		default:
		}
	}
}

// wait waits for the feed to stop, once its context has ended.
func (f *statusFeed) wait() { f.wg.Wait() }
