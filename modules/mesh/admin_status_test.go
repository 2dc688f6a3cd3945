package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// fakeSource is a source that records statuses and lists them, or fails.
type fakeSource struct {
	statuses []Status
	holds    map[string]bool // kind/key
	fail     error
}

func (*fakeSource) Publish(*Publisher) error { return nil }

func (f *fakeSource) WriteStatus(_ context.Context, s Status) error {
	if f.fail != nil {
		return f.fail
	}
	if !f.holds[s.Kind+"/"+s.Key()] {
		return ErrNoObject
	}
	f.statuses = append(f.statuses, s)
	return nil
}

func (f *fakeSource) Statuses() []Status { return f.statuses }

// plainSource publishes but neither writes nor lists statuses.
type plainSource struct{}

func (plainSource) Publish(*Publisher) error { return nil }

func route(ns, name string, ctrl gatewayv1.GatewayController) Status {
	return Status{Kind: model.HTTPRoutes, Namespace: ns, Name: name, Controller: ctrl, RouteParents: []gatewayv1.RouteParentStatus{}}
}

func TestListStatuses(t *testing.T) {
	files := &fakeSource{statuses: []Status{
		route("shop", "web", "b"),
		{Kind: model.Gateways, Namespace: "shop", Name: "gw", Controller: "a", Gateway: &gatewayv1.GatewayStatus{}},
		route("shop", "web", "a"),
		route("app", "web", "a"),
	}}
	app := &App{sources: map[string]Source{"files": files, "empty": &fakeSource{}, "cluster": plainSource{}}}

	tests := []struct {
		name, kind, key string
		want            map[string]string // source → "kind key controller" rows
	}{
		{"everything, sorted", "", "", map[string]string{
			"files": "gateways shop/gw a, httproutes app/web a, httproutes shop/web a, httproutes shop/web b",
			"empty": "",
		}},
		{"one kind", model.Gateways, "", map[string]string{"files": "gateways shop/gw a", "empty": ""}},
		{"one object", model.HTTPRoutes, "shop/web", map[string]string{"files": "httproutes shop/web a, httproutes shop/web b", "empty": ""}},
		{"a key alone", "", "app/web", map[string]string{"files": "httproutes app/web a", "empty": ""}},
		{"nothing matches", "tlsroutes", "", map[string]string{"files": "", "empty": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := app.listStatuses(tc.kind, tc.key)
			if len(got) != len(tc.want) {
				t.Fatalf("sources %v, want those of %v", got, tc.want)
			}
			for src, want := range tc.want {
				var rows []string
				for _, v := range got[src] {
					rows = append(rows, v.Kind+" "+v.Key+" "+string(v.Controller))
				}
				if strings.Join(rows, ", ") != want {
					t.Errorf("%s: %q, want %q", src, strings.Join(rows, ", "), want)
				}
			}
		})
	}

	// The JSON form: snake_case fields of ours, the Gateway API's own inside.
	raw, err := json.Marshal(map[string]any{"sources": app.listStatuses(model.Gateways, "")})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"sources":{"empty":[],"files":[{"kind":"gateways","namespace":"shop","name":"gw","key":"shop/gw","controller":"a","gateway":{}}]}}`
	if string(raw) != want {
		t.Errorf("JSON\n got %s\nwant %s", raw, want)
	}
}

func TestAppWriteStatus(t *testing.T) {
	holder := &fakeSource{holds: map[string]bool{"httproutes/shop/web": true}}
	other := &fakeSource{}
	broken := &fakeSource{fail: errors.New("boom")}
	app := &App{sources: map[string]Source{"holder": holder, "other": other, "plain": plainSource{}}}
	ctx := context.Background()

	if err := app.WriteStatus(ctx, route("shop", "web", "a")); err != nil {
		t.Fatalf("write to the holding source: %v", err)
	}
	if len(holder.statuses) != 1 || len(other.statuses) != 0 {
		t.Errorf("statuses went to %d and %d sources' objects", len(holder.statuses), len(other.statuses))
	}
	if err := app.WriteStatus(ctx, route("shop", "gone", "a")); err != nil {
		t.Errorf("no source holding the object is not an error: %v", err)
	}
	if err := app.WriteStatus(ctx, Status{Kind: model.HTTPRoutes, Name: "web"}); err == nil {
		t.Error("an invalid status was accepted")
	}
	app.sources["broken"] = broken
	if err := app.WriteStatus(ctx, route("shop", "web", "a")); err == nil || !strings.Contains(err.Error(), `source "broken": boom`) {
		t.Errorf("a failing source: %v", err)
	}
}

func TestRedactSecret(t *testing.T) {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{lastAppliedAnnotation: `{"data":{"tls.key":"S0VZ"}}`}},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: []byte("CERT"), corev1.TLSPrivateKeyKey: []byte("KEY"), "ca.crt": []byte("CA")},
	}
	raw, err := marshalItem(s)
	if err != nil {
		t.Fatal(err)
	}
	var got corev1.Secret
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if string(got.Data[corev1.TLSCertKey]) != "CERT" || string(got.Data["ca.crt"]) != "CA" {
		t.Errorf("certificates hidden: %s", raw)
	}
	if string(got.Data[corev1.TLSPrivateKeyKey]) != "REDACTED" || strings.Contains(string(raw), "S0VZ") {
		t.Errorf("private key shown: %s", raw)
	}
	if string(s.Data[corev1.TLSPrivateKeyKey]) != "KEY" {
		t.Error("redacting changed the collection's object")
	}
}

func TestBuiltinKindsIncludeSecretsAndFilters(t *testing.T) {
	r := newRegistry()
	declareBuiltinKinds(r)
	stop, err := r.buildMerged()
	mustNil(t, err)
	defer stop()
	for _, name := range []string{"merged/" + model.TLSSecrets, "merged/" + model.HTTPFilters} {
		info, ok := r.Lookup(name)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		waitFor(t, info.HasSynced)
	}
	if _, err := Get[*corev1.Secret](r, "merged/"+model.TLSSecrets); err != nil {
		t.Error(err)
	}
	if _, err := Get[*gatewayv1alpha1.HTTPFilter](r, "merged/"+model.HTTPFilters); err != nil {
		t.Error(err)
	}
}
