package kube

import (
	"fmt"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// watchHealth wraps the source's HTTP transport to follow each informer's health from its
// own requests. client-go's reflector retries a refused connection without telling its
// error handler, so a down API server would otherwise go unseen; and it says nothing when
// it recovers. Here every list or watch request of a source's resource sets (on failure)
// or clears (on success) the error of the informer that made it.
func (l *loader) watchHealth(next http.RoundTripper) http.RoundTripper {
	return &healthTransport{l: l, next: next}
}

type healthTransport struct {
	l    *loader
	next http.RoundTripper
}

// WrappedRoundTripper lets client-go reach the transport underneath, to close its idle
// connections when the source stops.
func (h *healthTransport) WrappedRoundTripper() http.RoundTripper { return h.next }

func (h *healthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(req)
	if req.Method != http.MethodGet {
		return resp, err
	}
	gr, ns, ok := parseCollectionPath(req.URL.Path)
	if !ok {
		return resp, err
	}
	w, ok := h.l.byGR[gr]
	if !ok {
		return resp, err
	}
	st, id := w.store, informerID(gr, ns, w.namespaced)
	switch {
	case err != nil:
		if req.Context().Err() == nil { // not the source stopping
			st.setStreamError(id, fmt.Errorf("%s: %w", id, err))
		}
	case resp.StatusCode < 300:
		st.setStreamError(id, nil)
	default:
		// The reflector's error handler follows with the API server's message.
		st.setStreamError(id, fmt.Errorf("%s: %s", id, resp.Status))
	}
	return resp, err
}

// parseCollectionPath recognizes the path of a list or watch of a resource:
//
//	/api/v1/<resource>                               core, all namespaces or cluster-scoped
//	/api/v1/namespaces/<ns>/<resource>               core, one namespace
//	/apis/<group>/<version>/<resource>               likewise for a group
//	/apis/<group>/<version>/namespaces/<ns>/<resource>
//
// and returns the resource and namespace ("" for the first and third forms). Paths of
// single objects, subresources and discovery are not matched.
func parseCollectionPath(path string) (gr schema.GroupResource, ns string, ok bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:] // api, v1
	case len(parts) >= 4 && parts[0] == "apis":
		gr.Group = parts[1]
		parts = parts[3:] // apis, group, version
	default:
		return gr, "", false
	}
	switch {
	case len(parts) == 1:
		gr.Resource = parts[0]
		return gr, metav1.NamespaceAll, true
	case len(parts) == 3 && parts[0] == "namespaces":
		gr.Resource = parts[2]
		return gr, parts[1], true
	}
	return gr, "", false
}
