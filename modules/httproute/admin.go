package httproute

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI serves the Gateway controller's listeners on Caddy's admin endpoint:
//
//	GET /mesh/gateways    {"gateways": [{"gateway": "ns/name", "port": 80, "protocol": "HTTP",
//	                                     "address": "127.0.0.1:41234", "virtual_hosts": 3}]}
//
// The address is where the listener is bound, which differs from the port with
// ephemeral_ports.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.mesh_gateways",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Routes returns the admin routes.
func (adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/mesh/gateways", Handler: caddy.AdminHandlerFunc(serveGateways)}}
}

func serveGateways(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed", r.Method)}
	}
	ls := listeners()
	if ls == nil {
		ls = []ListenerInfo{}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"gateways": ls})
}

// Interface guards
var _ caddy.AdminRouter = adminAPI{}
