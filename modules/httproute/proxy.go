package httproute

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// defaultDialTimeout bounds connecting to an endpoint when the cluster sets no timeout.
const defaultDialTimeout = 5 * time.Second

// proxyKey is everything a reverse_proxy handler is configured from: routes that agree on
// it share one handler, and so one connection pool.
type proxyKey struct {
	Cluster        string
	Def            table.Cluster
	BackendTimeout time.Duration
	Retry          *table.Retry
}

func (k proxyKey) String() string {
	b, _ := json.Marshal(k) // plain data: cannot fail
	return string(b)
}

// proxies is a reference-counted cache of provisioned reverse_proxy handlers, shared by
// the tables a router compiles over time: a recompile that keeps a cluster keeps its
// handler, its connection pool and its load-balancing state.
type proxies struct {
	ctx       caddy.Context
	endpoints *Endpoints

	mu      sync.Mutex // guards entries
	entries map[string]*proxyEntry
}

type proxyEntry struct {
	h      *reverseproxy.Handler
	ups    reverseproxy.UpstreamSource
	cancel func()
	refs   int
}

func newProxies(ctx caddy.Context, endpoints *Endpoints) *proxies {
	return &proxies{ctx: ctx, endpoints: endpoints, entries: make(map[string]*proxyEntry)}
}

// acquire returns the handler for k, provisioning it on first use.
func (p *proxies) acquire(k proxyKey) (*proxyEntry, error) {
	key := k.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.entries[key]; ok {
		e.refs++
		return e, nil
	}
	e, err := p.provision(k)
	if err != nil {
		return nil, err
	}
	e.refs = 1
	p.entries[key] = e
	return e, nil
}

// release gives back one reference; the last one cleans the handler up.
func (p *proxies) release(k proxyKey) {
	key := k.String()
	p.mu.Lock()
	e, ok := p.entries[key]
	if ok {
		e.refs--
		if e.refs == 0 {
			delete(p.entries, key)
		}
	}
	p.mu.Unlock()
	if ok && e.refs == 0 {
		_ = e.h.Cleanup()
		e.cancel()
	}
}

// closeAll cleans up every handler, for the router's Cleanup.
func (p *proxies) closeAll() {
	p.mu.Lock()
	entries := p.entries
	p.entries = make(map[string]*proxyEntry)
	p.mu.Unlock()
	for _, e := range entries {
		_ = e.h.Cleanup()
		e.cancel()
	}
}

// provision builds a reverse_proxy handler for a cluster. Each gets a context of its own,
// so that the modules it loads (transport, selection policy, retry matchers) are cleaned
// up with it rather than with the whole config.
func (p *proxies) provision(k proxyKey) (*proxyEntry, error) {
	h := &reverseproxy.Handler{LoadBalancing: &reverseproxy.LoadBalancing{}}
	transport := map[string]any{"protocol": "http"}
	dial := k.Def.ConnectTimeout
	if dial <= 0 {
		dial = defaultDialTimeout
	}
	transport["dial_timeout"] = caddy.Duration(dial)
	if k.BackendTimeout > 0 {
		transport["response_header_timeout"] = caddy.Duration(k.BackendTimeout)
	}
	if k.Def.H2C {
		transport["versions"] = []string{"h2c", "2"}
	}
	h.TransportRaw = mustJSON(transport)
	h.LoadBalancing.SelectionPolicyRaw = mustJSON(selectionPolicy(k.Def))
	if r := k.Retry; r != nil && r.NumRetries > 0 {
		h.LoadBalancing.Retries = r.NumRetries
		if expr := retryExpression(r); expr != "" {
			h.LoadBalancing.RetryMatchRaw = caddyhttp.RawMatcherSets{{"expression": mustJSON(expr)}}
		}
	}
	var ups reverseproxy.UpstreamSource
	switch k.Def.Kind {
	case table.ClusterService:
		if k.Def.Service == nil {
			return nil, fmt.Errorf("cluster %q: a service cluster without a service", k.Cluster)
		}
		s := k.Def.Service
		ups = &clusterUpstreams{endpoints: p.endpoints, ns: s.Namespace, name: s.Name, portName: s.PortName}
	case table.ClusterEDS:
		name := k.Def.EDSName
		if name == "" {
			name = k.Cluster
		}
		ups = &clusterUpstreams{endpoints: p.endpoints, eds: name}
	case table.ClusterStatic:
		ups = &staticUpstreams{list: k.Def.Addresses}
	default:
		return nil, fmt.Errorf("cluster %q: unknown kind %q", k.Cluster, k.Def.Kind)
	}
	h.DynamicUpstreams = ups
	ctx, cancel := caddy.NewContext(p.ctx)
	if err := h.Provision(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("cluster %q: provisioning its reverse proxy: %w", k.Cluster, err)
	}
	return &proxyEntry{h: h, ups: ups, cancel: cancel}, nil
}

// selectionPolicy maps a cluster's load-balancing policy onto Caddy's selection policies.
func selectionPolicy(c table.Cluster) map[string]any {
	switch c.LB {
	case table.LBLeastRequest:
		return map[string]any{"policy": "least_conn"}
	case table.LBRandom:
		return map[string]any{"policy": "random"}
	case table.LBHash:
		if c.HashOn != "" {
			return map[string]any{"policy": "header", "field": c.HashOn}
		}
		return map[string]any{"policy": "client_ip_hash"}
	}
	return map[string]any{"policy": "round_robin"}
}

// retryExpression is the CEL expression (over the upstream's response) that makes
// reverse_proxy retry, for Envoy's response-based retry_on conditions. Dial failures
// ("connect-failure") are retried by reverse_proxy in any case.
func retryExpression(r *table.Retry) string {
	var terms []string
	for _, on := range r.On {
		switch strings.TrimSpace(on) {
		case "5xx":
			terms = append(terms, "{http.reverse_proxy.status_code} >= 500")
		case "gateway-error":
			terms = append(terms, "{http.reverse_proxy.status_code} in [502, 503, 504]")
		case "retriable-4xx":
			terms = append(terms, "{http.reverse_proxy.status_code} == 409")
		case "reset", "refused-stream":
			terms = append(terms, "{http.reverse_proxy.is_transport_error}")
		case "retriable-status-codes":
			if len(r.StatusCodes) > 0 {
				codes := make([]string, len(r.StatusCodes))
				for i, c := range r.StatusCodes {
					codes[i] = strconv.Itoa(c)
				}
				terms = append(terms, "{http.reverse_proxy.status_code} in ["+strings.Join(codes, ", ")+"]")
			}
		}
	}
	return strings.Join(terms, " || ")
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain maps and strings: cannot fail
	}
	return b
}
