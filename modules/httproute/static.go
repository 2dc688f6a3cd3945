package httproute

import (
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// staticUpstreams is a fixed list of addresses (an Envoy STATIC cluster).
type staticUpstreams struct {
	list []string
}

// GetUpstreams returns the list, as new upstreams.
func (s *staticUpstreams) GetUpstreams(*http.Request) ([]*reverseproxy.Upstream, error) {
	return upstreamsOf(s.list), nil
}

// dials returns the addresses.
func (s *staticUpstreams) dials() []string { return s.list }
