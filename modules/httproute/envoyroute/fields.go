package envoyroute

import (
	"fmt"
	"sort"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fieldSet is the fields of one message this package either translates or may safely
// ignore. Checking what is set against an allow list, rather than looking for the fields
// known to be unsupported, means that a field the protos gain later, or one nobody thought
// about, is reported instead of silently changing nothing here while it would change
// Envoy's behaviour.
type fieldSet struct {
	// denied are the message's other fields, precomputed so that a check asks the
	// message about each of them (Has, which allocates nothing) instead of ranging over
	// every set field (which allocates a value for each).
	denied []protoreflect.FieldDescriptor
}

// allow builds the set for m's message type. It panics on a name the message does not
// have, so that a typo cannot quietly let a field through: every set is built when the
// package is initialised, so any test catches it.
func allow(m proto.Message, names ...protoreflect.Name) fieldSet {
	desc := m.ProtoReflect().Descriptor()
	allowed := make(map[protoreflect.Name]bool, len(names))
	for _, n := range names {
		if desc.Fields().ByName(n) == nil {
			panic(fmt.Sprintf("envoyroute: %s has no field %q", desc.FullName(), n))
		}
		allowed[n] = true
	}
	var s fieldSet
	for i := 0; i < desc.Fields().Len(); i++ {
		if fd := desc.Fields().Get(i); !allowed[fd.Name()] {
			s.denied = append(s.denied, fd)
		}
	}
	return s
}

// check returns an error naming every field set in m that is not in s, prefixed with at
// (the path of m, "" for the top of a route). Proto3 scalars at their zero value count as
// unset, which is what makes booleans such as append_x_forwarded_host safe to leave out of
// the sets: false is Envoy's default and the only value expressible here.
func (s fieldSet) check(at string, m proto.Message) error {
	r := m.ProtoReflect()
	if !r.IsValid() {
		return nil
	}
	var bad []string
	for _, fd := range s.denied {
		if r.Has(fd) {
			bad = append(bad, join(at, string(fd.Name())))
		}
	}
	switch len(bad) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%s is not supported", bad[0])
	}
	sort.Strings(bad)
	return fmt.Errorf("%s are not supported", strings.Join(bad, ", "))
}

// join appends a field name to a path.
func join(at, field string) string {
	if at == "" {
		return field
	}
	return at + "." + field
}

// The allow lists. A field is on a list when it is translated, or when ignoring it cannot
// change which response a request gets; the latter are commented.
var (
	routeConfigurationFields = allow(&routev3.RouteConfiguration{},
		"name", "virtual_hosts",
		"request_headers_to_add", "request_headers_to_remove",
		"response_headers_to_add", "response_headers_to_remove",
		"most_specific_header_mutations_wins", "max_direct_response_body_size_bytes",
		"request_mirror_policies",
		// Envoy rejects the whole configuration when a cluster is unknown; here an
		// unknown cluster waits for EDS instead (see cluster.go), which serves the same
		// requests once it arrives.
		"validate_clusters",
		// Plugin definitions do nothing unless a route names one, and a route that does
		// is an error.
		"cluster_specifier_plugins",
		// Ports are always ignored in host matching here (see domains.go).
		"ignore_port_in_host_matching",
		// Metadata only feeds filters and logs.
		"metadata",
	)
	virtualHostFields = allow(&routev3.VirtualHost{},
		"name", "domains", "routes",
		"request_headers_to_add", "request_headers_to_remove",
		"response_headers_to_add", "response_headers_to_remove",
		"retry_policy", "request_mirror_policies",
		// Virtual clusters only name statistics.
		"virtual_clusters",
		// Buffer limits bound how much of a body Envoy keeps for retries and mirrors;
		// they do not change a request that fits.
		"per_request_buffer_limit_bytes", "request_body_buffer_limit",
		"metadata",
	)
	routeFields = allow(&routev3.Route{},
		"name", "match", "route", "redirect", "direct_response",
		"request_headers_to_add", "request_headers_to_remove",
		"response_headers_to_add", "response_headers_to_remove",
		// Decorator and tracing name and sample spans; stat_prefix names statistics.
		"decorator", "tracing", "stat_prefix",
		"per_request_buffer_limit_bytes", "request_body_buffer_limit",
		"metadata",
	)
	routeMatchFields = allow(&routev3.RouteMatch{},
		"prefix", "path", "safe_regex", "path_separated_prefix",
		"case_sensitive", "runtime_fraction", "headers", "query_parameters", "grpc",
	)
	routeActionFields = allow(&routev3.RouteAction{},
		"cluster", "weighted_clusters",
		"prefix_rewrite", "regex_rewrite", "host_rewrite_literal",
		"timeout", "retry_policy", "request_mirror_policies", "hash_policy",
		"upgrade_configs",
		// The response code for a cluster that does not exist: here a missing cluster
		// is waited for, never answered with this code (see cluster.go).
		"cluster_not_found_response_code",
		// Priority only selects which circuit breaker thresholds apply, and circuit
		// breakers are not translated.
		"priority",
	)
	weightedClusterFields = allow(&routev3.WeightedCluster{},
		"clusters", "total_weight",
		// Runtime keys override weights from Envoy's runtime, which is not translated;
		// the configured weights are what Envoy uses when the keys are absent.
		"runtime_key_prefix",
	)
	clusterWeightFields = allow(&routev3.WeightedCluster_ClusterWeight{},
		"name", "weight",
		"request_headers_to_add", "request_headers_to_remove",
		"response_headers_to_add", "response_headers_to_remove",
	)
	retryPolicyFields = allow(&routev3.RetryPolicy{},
		"retry_on", "num_retries", "per_try_timeout", "retriable_status_codes",
		// Checked in retry.go: only previous_hosts, which the runtime's own retries
		// approximate by picking again.
		"retry_host_predicate", "host_selection_retry_max_attempts",
	)
	mirrorPolicyFields = allow(&routev3.RouteAction_RequestMirrorPolicy{},
		"cluster", "runtime_fraction",
		// Trace sampling of the copy only affects tracing. The "-shadow" suffix Envoy
		// appends to the copy's Host header cannot be expressed either way (see
		// mirror.go).
		"trace_sampled", "disable_shadow_host_suffix_append",
	)
	redirectFields = allow(&routev3.RedirectAction{},
		"https_redirect", "scheme_redirect", "host_redirect", "port_redirect",
		"path_redirect", "prefix_rewrite", "response_code", "strip_query",
	)
	directResponseFields    = allow(&routev3.DirectResponseAction{}, "status", "body")
	headerValueOptionFields = allow(&corev3.HeaderValueOption{},
		"header", "append", "append_action", "keep_empty_value")
	hashPolicyFields      = allow(&routev3.RouteAction_HashPolicy{}, "header", "connection_properties", "terminal")
	hashHeaderFields      = allow(&routev3.RouteAction_HashPolicy_Header{}, "header_name")
	upgradeConfigFields   = allow(&routev3.RouteAction_UpgradeConfig{}, "upgrade_type", "enabled")
	runtimeFractionFields = allow(&corev3.RuntimeFractionalPercent{},
		// The runtime key would let Envoy's runtime override the default; without a
		// runtime, the default is what Envoy uses.
		"default_value", "runtime_key")
)
