package envoyroute

import (
	"errors"
	"fmt"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// defaultMaxDirectResponseBody is Envoy's limit on a direct response body when the route
// configuration sets none.
const defaultMaxDirectResponseBody = 4096

// redirect translates a redirect action. The view maps response_code to its status (Envoy's
// default, MOVED_PERMANENTLY, is 301, so the table's "0 means 302" never applies) and
// https_redirect to the scheme. prefix_rewrite follows the same rule as a forwarding
// route's (see rewrite). A regex_rewrite has no table field and is an error (fields.go).
func redirect(r *resource.Route, path *table.PathMatch) (*table.Redirect, error) {
	pb := r.Message().GetRedirect()
	if err := redirectFields.check("redirect", pb); err != nil {
		return nil, err
	}
	v := r.Redirect
	out := &table.Redirect{
		Scheme:     v.Scheme,
		Host:       v.Host,
		Port:       int(v.Port),
		StripQuery: v.StripQuery,
		StatusCode: v.ResponseCode,
	}
	// An empty path_redirect or prefix_rewrite changes nothing in Envoy, so "" is unset.
	if p := v.Path; p != "" {
		out.FullPath = &p
	}
	if p := v.PrefixRewrite; p != "" {
		switch path.Kind {
		case table.PathPrefix, table.PathSegmentPrefix:
			out.PrefixReplacement = &p
		case table.PathExact:
			out.FullPath = &p
		default:
			return nil, fmt.Errorf("redirect.prefix_rewrite: needs a prefix, path_separated_prefix or path match, not %s", path.Kind)
		}
	}
	return out, nil
}

// directResponse translates a direct response. Envoy reads a body from a file or an
// environment variable of its own host when it loads the configuration; the runtime is
// not that host, so only inline bodies are served. A body over the configuration's
// max_direct_response_body_size_bytes is refused, as Envoy refuses it.
func directResponse(r *resource.Route, maxBody uint32) (*table.DirectResponse, error) {
	if err := directResponseFields.check("direct_response", r.Message().GetDirectResponse()); err != nil {
		return nil, err
	}
	v := r.DirectResponse
	out := &table.DirectResponse{Status: int(v.Status)}
	switch v.Body.Kind {
	case resource.DataNone:
	case resource.DataInline:
		if uint64(len(v.Body.Inline)) > uint64(maxBody) {
			return nil, fmt.Errorf("direct_response.body: %d bytes is over the limit of %d (max_direct_response_body_size_bytes)", len(v.Body.Inline), maxBody)
		}
		out.Body = string(v.Body.Inline)
	case resource.DataFile:
		return nil, errors.New("direct_response.body.filename is not supported; only inline_string and inline_bytes are")
	case resource.DataEnvironment:
		return nil, errors.New("direct_response.body.environment_variable is not supported; only inline_string and inline_bytes are")
	default:
		return nil, fmt.Errorf("direct_response.body: %v is not supported", v.Body.Kind)
	}
	return out, nil
}
