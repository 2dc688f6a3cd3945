package envoyroute

import (
	"fmt"
	"math"
	"strings"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// retryConditions are the retry_on conditions the table's Retry lists. Envoy has more
// (the gRPC status ones, "retriable-headers", "envoy-ratelimited", ...); a route asking for
// one of those is an error rather than retrying less than it asked for.
var retryConditions = map[string]bool{
	"5xx": true, "gateway-error": true, "connect-failure": true, "reset": true,
	"retriable-4xx": true, "retriable-status-codes": true, "refused-stream": true,
}

// previousHostsPredicate is the one retry host predicate accepted: "retry on another host".
// The runtime picks a host again for each try through the cluster's policy, which moves on
// from the failed host under round robin and least-request, and usually does under random;
// that is the closest the table comes, and failing every route that asks for it (every
// Istio route does) would serve far less than this approximation.
const previousHostsPredicate = "envoy.retry_host_predicates.previous_hosts"

// retryPolicy translates a retry policy into the table's Retry and the per-try timeout
// (Forward.BackendTimeout). Envoy retries only on the conditions listed in retry_on, so a
// policy without any yields no Retry; num_retries defaults to 1, as in Envoy. The per-try
// timeout applies to the first try too, with or without retries.
func retryPolicy(at string, p *routev3.RetryPolicy) (*table.Retry, time.Duration, error) {
	if p == nil {
		return nil, 0, nil
	}
	if err := retryPolicyFields.check(at, p); err != nil {
		return nil, 0, err
	}
	for i, hp := range p.GetRetryHostPredicate() {
		if hp.GetName() != previousHostsPredicate {
			return nil, 0, fmt.Errorf("%s.retry_host_predicate[%d]: predicate %q is not supported", at, i, hp.GetName())
		}
	}
	perTry, err := duration(at+".per_try_timeout", p.GetPerTryTimeout())
	if err != nil {
		return nil, 0, err
	}
	var on []string
	for _, c := range strings.Split(p.GetRetryOn(), ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !retryConditions[c] {
			return nil, 0, fmt.Errorf("%s.retry_on: condition %q is not supported", at, c)
		}
		on = append(on, c)
	}
	if len(on) == 0 {
		return nil, perTry, nil
	}
	r := &table.Retry{On: on, NumRetries: 1}
	if n := p.GetNumRetries(); n != nil {
		// Capped so that the conversion cannot wrap where int is 32 bits.
		r.NumRetries = int(min(n.GetValue(), math.MaxInt32))
	}
	for _, code := range p.GetRetriableStatusCodes() {
		r.StatusCodes = append(r.StatusCodes, int(code))
	}
	return r, perTry, nil
}

// duration converts an optional Duration; unset is 0. Generated validation does not bound
// every duration field, so an invalid or negative one is checked here.
func duration(at string, d *durationpb.Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, fmt.Errorf("%s: %w", at, err)
	}
	v := d.AsDuration()
	if v < 0 {
		return 0, fmt.Errorf("%s: duration %v is negative", at, v)
	}
	return v, nil
}
