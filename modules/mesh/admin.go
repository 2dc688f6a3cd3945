package mesh

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI serves the mesh's live state on Caddy's admin endpoint:
//
//	GET /mesh/collections                         every collection: items, synced, last error
//	GET /mesh/collections/{source}/{kind}         {"items": [...]}, sorted by key
//	GET /mesh/collections/{source}/{kind}?key=K   one item
//	GET /mesh/status[?kind=K&key=K]               statuses sources keep themselves (StatusLister)
//
// Kubernetes objects are shown in their JSON form and xDS resources in protojson. Secrets
// are redacted: a TLS Secret shows its certificates but not its private key.
//
// It serves the running config's mesh app, looked up for each request: Caddy builds the
// admin endpoint from a new config before that config's apps load, and keeps it even when
// the load then fails and the old config goes on running, so an app bound at provisioning
// time could be one that never ran.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.mesh",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

const collectionsPath = "/mesh/collections"

// Routes returns the admin routes.
func (a *adminAPI) Routes() []caddy.AdminRoute {
	h := caddy.AdminHandlerFunc(a.serve)
	return []caddy.AdminRoute{
		{Pattern: collectionsPath, Handler: h},
		{Pattern: collectionsPath + "/", Handler: h},
		{Pattern: statusPath, Handler: caddy.AdminHandlerFunc(a.serveStatus)},
		{Pattern: statusPath + "/", Handler: caddy.AdminHandlerFunc(a.serveStatus)},
	}
}

// collectionStatus is one row of GET /mesh/collections.
type collectionStatus struct {
	Name      string `json:"name"`
	Source    string `json:"source"`
	Kind      string `json:"kind"`
	Items     int    `json:"items"`
	Synced    bool   `json:"synced"`
	LastError string `json:"last_error,omitempty"`
}

func (adminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed", r.Method)}
	}
	app := runningApp()
	if app == nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("the running config has no mesh app")}
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, collectionsPath), "/")
	if rest == "" {
		return writeJSON(w, map[string]any{"collections": statuses(app.registry)})
	}
	e, ok := app.registry.lookup(rest)
	if !ok || strings.Count(rest, "/") != 1 {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("collection %q not found", rest)}
	}
	if r.URL.Query().Has("key") {
		key := r.URL.Query().Get("key")
		item, ok := e.col.GetAny(key)
		if !ok {
			return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("collection %q has no item with key %q", rest, key)}
		}
		raw, err := marshalItem(item)
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: fmt.Errorf("encoding %s %q: %w", rest, key, err)}
		}
		return writeJSON(w, raw)
	}
	return writeItems(w, rest, e)
}

// runningApp returns the mesh app of the config Caddy is running, or nil.
func runningApp() *App {
	app, err := caddy.ActiveContext().AppIfConfigured("mesh")
	if err != nil {
		return nil
	}
	return app.(*App)
}

func statuses(reg *Registry) []collectionStatus {
	names := reg.Names()
	out := make([]collectionStatus, 0, len(names))
	for _, name := range names {
		col, _ := reg.Lookup(name)
		source, kind, _ := strings.Cut(name, "/")
		st := collectionStatus{Name: name, Source: source, Kind: kind, Items: col.Len(), Synced: col.HasSynced()}
		if err := col.LastError(); err != nil {
			st.LastError = err.Error()
		}
		out = append(out, st)
	}
	return out
}

// writeItems streams {"items":[...]} item by item, sorted by key, so a large collection is
// not built up as one document in memory.
func writeItems(w http.ResponseWriter, name string, e entry) error {
	type keyed struct {
		key  string
		item any
	}
	items := e.col.ListAny()
	rows := make([]keyed, len(items))
	for i, it := range items {
		rows[i] = keyed{key: e.keyOf(it), item: it}
	}
	slices.SortFunc(rows, func(a, b keyed) int { return strings.Compare(a.key, b.key) })

	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write([]byte(`{"items":[`)); err != nil {
		return nil // the client went away
	}
	for i, row := range rows {
		raw, err := marshalItem(row.item)
		if err != nil {
			// Headers are gone; end the document so the client sees a parse error, and log.
			return fmt.Errorf("encoding item %q of %s: %w", row.key, name, err)
		}
		if i > 0 {
			raw = append([]byte{','}, raw...)
		}
		if _, err := w.Write(raw); err != nil {
			return nil
		}
	}
	_, _ = w.Write([]byte("]}\n"))
	return nil
}

// Redactor is implemented by items that hold secrets (xDS Secrets): the admin API shows
// the redacted form.
type Redactor interface{ Redacted() proto.Message }

// ProtoView is implemented by items that wrap a proto (the xDS resource views): the admin
// API shows the proto.
type ProtoView interface{ Proto() proto.Message }

// rawResource is an xDS resource known only by name, type and bytes.
type rawResource interface {
	Name() string
	TypeURL() string
	Raw() []byte
}

// marshalItem encodes xDS resources with protojson, the form Envoy's admin API uses, and
// everything else (Kubernetes objects) with encoding/json, their API form. Secrets are
// redacted.
func marshalItem(item any) (json.RawMessage, error) {
	switch m := item.(type) {
	case *corev1.Secret:
		return json.Marshal(redactSecret(m))
	case Redactor:
		return protojson.Marshal(m.Redacted())
	case ProtoView:
		if p := m.Proto(); p != nil {
			return protojson.Marshal(p)
		}
		if r, ok := item.(rawResource); ok {
			// A resource of a type this program does not link in: only its bytes are known.
			return json.Marshal(struct {
				Name    string `json:"name"`
				TypeURL string `json:"typeUrl"`
				Raw     []byte `json:"raw"`
			}{r.Name(), r.TypeURL(), r.Raw()})
		}
	case proto.Message:
		return protojson.Marshal(m)
	}
	return json.Marshal(item)
}

// publicSecretKeys are the keys of a TLS Secret whose values are public: certificates.
var publicSecretKeys = []string{corev1.TLSCertKey, corev1.ServiceAccountRootCAKey}

// redactedValue replaces the value of a secret key in the admin API.
var redactedValue = []byte("REDACTED")

// lastAppliedAnnotation is where kubectl apply keeps a copy of what it applied: for a
// Secret, its data.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// redactSecret returns a copy of s whose data values are replaced by "REDACTED" (base64
// in the JSON), except the certificates, and without kubectl's last-applied copy, so that
// the admin API shows which keys a Secret has without ever showing a private key.
func redactSecret(s *corev1.Secret) *corev1.Secret {
	out := s.DeepCopy()
	delete(out.Annotations, lastAppliedAnnotation)
	for k := range out.Data {
		if !slices.Contains(publicSecretKeys, k) {
			out.Data[k] = redactedValue
		}
	}
	for k := range out.StringData {
		out.StringData[k] = string(redactedValue)
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	return nil
}

// Interface guards
var (
	_ caddy.AdminRouter = (*adminAPI)(nil)
)
