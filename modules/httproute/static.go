package httproute

import (
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// staticUpstreams is a fixed list of addresses (an Envoy STATIC cluster).
type staticUpstreams struct {
	list []*reverseproxy.Upstream
}

// GetUpstreams returns the list.
func (s *staticUpstreams) GetUpstreams(*http.Request) ([]*reverseproxy.Upstream, error) {
	return s.list, nil
}
