package mesh

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// statusPath is where the admin API lists the statuses held by sources that keep them to
// themselves (StatusLister), such as the file source:
//
//	GET /mesh/status                              {"sources": {"<source>": [status, ...]}}
//	GET /mesh/status?kind=httproutes&key=ns/name  the same, narrowed to one kind and/or key
//
// Each source's statuses are sorted by kind, key and controller.
const statusPath = "/mesh/status"

// statusView is one status in the admin API's JSON.
type statusView struct {
	Kind       string                      `json:"kind"`
	Namespace  string                      `json:"namespace,omitempty"`
	Name       string                      `json:"name"`
	Key        string                      `json:"key"`
	Controller gatewayv1.GatewayController `json:"controller"`
	// Parents is set for routes: the controller's status.parents entries.
	Parents []gatewayv1.RouteParentStatus `json:"parents,omitempty"`
	// Gateway and GatewayClass are set for their kinds.
	Gateway      *gatewayv1.GatewayStatus      `json:"gateway,omitempty"`
	GatewayClass *gatewayv1.GatewayClassStatus `json:"gateway_class,omitempty"`
}

func (adminAPI) serveStatus(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed", r.Method)}
	}
	if strings.Trim(strings.TrimPrefix(r.URL.Path, statusPath), "/") != "" {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("%s has no sub-paths; filter with ?kind= and ?key=", statusPath)}
	}
	app := runningApp()
	if app == nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("the running config has no mesh app")}
	}
	q := r.URL.Query()
	return writeJSON(w, map[string]any{"sources": app.listStatuses(q.Get("kind"), q.Get("key"))})
}

// listStatuses returns, per source that lists statuses, its statuses of kind and key (""
// for any), sorted by kind, key and controller. Every such source appears, even with none.
func (a *App) listStatuses(kind, key string) map[string][]statusView {
	out := make(map[string][]statusView)
	for name, src := range a.sources {
		lister, ok := src.(StatusLister)
		if !ok {
			continue
		}
		views := []statusView{}
		for _, s := range lister.Statuses() {
			if (kind != "" && s.Kind != kind) || (key != "" && s.Key() != key) {
				continue
			}
			views = append(views, statusView{
				Kind: s.Kind, Namespace: s.Namespace, Name: s.Name, Key: s.Key(), Controller: s.Controller,
				Parents: s.RouteParents, Gateway: s.Gateway, GatewayClass: s.GatewayClass,
			})
		}
		slices.SortFunc(views, func(a, b statusView) int {
			return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Key, b.Key),
				strings.Compare(string(a.Controller), string(b.Controller)))
		})
		out[name] = views
	}
	return out
}
