package envoyroute

import (
	"fmt"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

// hashKey returns what a route's hash_policy asks a consistent-hash cluster to hash: a
// header name, or "" for the client's address (connection_properties.source_ip). ok is
// false when the route sets no key, which leaves the cluster's key to other routes.
//
// Envoy evaluates several policies in order and combines their hashes; the table has one
// key per cluster, so more than one policy is an error. Cookie, query parameter and
// filter state policies have no table equivalent and are errors too (fields.go). Envoy
// ignores a hash policy when the cluster does not hash, and so does the caller.
func hashKey(at string, policies []*routev3.RouteAction_HashPolicy) (key string, ok bool, err error) {
	switch len(policies) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", false, fmt.Errorf("%s: more than one hash policy is not supported", at)
	}
	at += "[0]"
	p := policies[0]
	if err := hashPolicyFields.check(at, p); err != nil {
		return "", false, err
	}
	switch {
	case p.GetHeader() != nil:
		if err := hashHeaderFields.check(at+".header", p.GetHeader()); err != nil {
			return "", false, err
		}
		return p.GetHeader().GetHeaderName(), true, nil
	case p.GetConnectionProperties().GetSourceIp():
		return "", true, nil
	}
	// connection_properties with source_ip false yields no hash, as in Envoy.
	return "", false, nil
}
