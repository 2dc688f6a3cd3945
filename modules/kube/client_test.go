package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

// testContext returns a context that ends with the test, or after a minute.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// randomName returns a DNS-1123 label unique to this run, for cluster-scoped objects.
func randomName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// crudCase is one type's run through create, get, update, list and delete.
type crudCase interface {
	caseName() string
	run(t *testing.T)
}

type crud[T Object] struct {
	name          string
	client        *Client
	clusterScoped bool
	// kind is how errors name the type.
	kind   string
	make   func(namespace, name string) T
	change func(T)
	check  func(t *testing.T, updated T)
}

func (c crud[T]) caseName() string { return c.name }

func (c crud[T]) run(t *testing.T) {
	ctx := testContext(t)
	ns, name := "", randomName("crud")
	if !c.clusterScoped {
		ns = newNamespace(t)
	}
	created, err := Create(ctx, c.client, c.make(ns, name), CreateOptions{FieldManager: "crud-test"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.GetName() != name || created.GetUID() == "" || created.GetResourceVersion() == "" {
		t.Fatalf("created %s/%s uid %q rv %q", created.GetNamespace(), created.GetName(), created.GetUID(), created.GetResourceVersion())
	}
	if _, err := Create(ctx, c.client, c.make(ns, name), CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("second create: want AlreadyExists, got %v", err)
	}

	got, err := Get[T](ctx, c.client, ns, name, GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.GetUID() != created.GetUID() {
		t.Fatalf("get: uid %q, want %q", got.GetUID(), created.GetUID())
	}

	c.change(got)
	updated, err := Update(ctx, c.client, got, UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.GetResourceVersion() == created.GetResourceVersion() {
		t.Error("update did not change the resource version")
	}
	c.check(t, updated)

	// An update from a stale copy is refused, and the error says what was refused.
	stale := created.DeepCopyObject().(T)
	c.change(stale)
	_, err = Update(ctx, c.client, stale, UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Errorf("stale update: want Conflict, got %v", err)
	} else if want := "updating " + c.kind + " " + objKey(ns, name); !strings.Contains(err.Error(), want) {
		t.Errorf("stale update error %q does not say %q", err, want)
	}

	list, err := List[T](ctx, c.client, ns, ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].GetUID() != created.GetUID() || list.ResourceVersion == "" {
		t.Fatalf("list by name: %d items at rv %q", len(list.Items), list.ResourceVersion)
	}

	// Preconditions and dry runs protect the object.
	err = Delete[T](ctx, c.client, ns, name, DeleteOptions{UID: types.UID("00000000-0000-0000-0000-000000000000")})
	if !apierrors.IsConflict(err) {
		t.Errorf("delete with a wrong UID: want Conflict, got %v", err)
	}
	err = Delete[T](ctx, c.client, ns, name, DeleteOptions{ResourceVersion: created.GetResourceVersion()})
	if !apierrors.IsConflict(err) {
		t.Errorf("delete with a stale resourceVersion: want Conflict, got %v", err)
	}
	if err := Delete[T](ctx, c.client, ns, name, DeleteOptions{DryRun: true}); err != nil {
		t.Errorf("dry-run delete: %v", err)
	}
	if _, err := Get[T](ctx, c.client, ns, name, GetOptions{}); err != nil {
		t.Errorf("get after a dry-run delete: %v", err)
	}

	err = Delete[T](ctx, c.client, ns, name, DeleteOptions{
		UID: created.GetUID(), GracePeriodSeconds: ptr.To[int64](0), PropagationPolicy: metav1.DeletePropagationBackground,
	})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = Get[T](ctx, c.client, ns, name, GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: want NotFound, got %v", err)
	}
	if want := "getting " + c.kind + " " + objKey(ns, name); !strings.Contains(err.Error(), want) {
		t.Errorf("NotFound error %q does not say %q", err, want)
	}
	if err := Delete[T](ctx, c.client, ns, name, DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("second delete: want NotFound, got %v", err)
	}
}

func objKey(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// TestCRUD runs create, get, update (current and stale), list, and delete (with
// preconditions and dry run) against the real API server, for a built-in type of each
// scope, Gateway API types of each scope, and Meshlets in both of their API groups.
func TestCRUD(t *testing.T) {
	t.Parallel()
	compat := testClient.WithGroupVersion(meshlessv1.CompatGroupVersion)
	for _, tc := range []crudCase{
		crud[*corev1.ConfigMap]{
			name: "ConfigMap", client: testClient, kind: "ConfigMap",
			make: func(ns, name string) *corev1.ConfigMap {
				return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string]string{"a": "1"}}
			},
			change: func(cm *corev1.ConfigMap) { cm.Data["b"] = "2" },
			check: func(t *testing.T, cm *corev1.ConfigMap) {
				if cm.Data["a"] != "1" || cm.Data["b"] != "2" {
					t.Errorf("updated data %v", cm.Data)
				}
			},
		},
		crud[*corev1.Service]{
			name: "Service", client: testClient, kind: "Service",
			make: func(ns, name string) *corev1.Service {
				return &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
					Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}, Selector: map[string]string{"app": "web"}},
				}
			},
			change: func(s *corev1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "https", Port: 443})
			},
			check: func(t *testing.T, s *corev1.Service) {
				if len(s.Spec.Ports) != 2 || s.Spec.ClusterIP == "" {
					t.Errorf("updated service: ports %v, clusterIP %q", s.Spec.Ports, s.Spec.ClusterIP)
				}
			},
		},
		crud[*rbacv1.ClusterRole]{
			name: "ClusterRole (cluster-scoped)", client: testClient, kind: "ClusterRole.rbac.authorization.k8s.io", clusterScoped: true,
			make: func(_, name string) *rbacv1.ClusterRole {
				return &rbacv1.ClusterRole{
					ObjectMeta: metav1.ObjectMeta{Name: name},
					Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}},
				}
			},
			change: func(r *rbacv1.ClusterRole) { r.Rules[0].Verbs = append(r.Rules[0].Verbs, "list") },
			check: func(t *testing.T, r *rbacv1.ClusterRole) {
				if !slices.Equal(r.Rules[0].Verbs, []string{"get", "list"}) {
					t.Errorf("updated verbs %v", r.Rules[0].Verbs)
				}
			},
		},
		crud[*gatewayv1.HTTPRoute]{
			name: "HTTPRoute", client: testClient, kind: "HTTPRoute.gateway.networking.k8s.io",
			make: func(ns, name string) *gatewayv1.HTTPRoute {
				return &gatewayv1.HTTPRoute{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
					Spec: gatewayv1.HTTPRouteSpec{
						CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
						Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
							BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: ptr.To[gatewayv1.PortNumber](80)},
						}}}}},
					},
				}
			},
			change: func(r *gatewayv1.HTTPRoute) { r.Spec.Hostnames = []gatewayv1.Hostname{"web.example.com"} },
			check: func(t *testing.T, r *gatewayv1.HTTPRoute) {
				if !slices.Equal(r.Spec.Hostnames, []gatewayv1.Hostname{"web.example.com"}) {
					t.Errorf("updated hostnames %v", r.Spec.Hostnames)
				}
				// CRD defaulting ran: the server's answer decodes into the typed struct.
				if m := r.Spec.Rules[0].Matches; len(m) != 1 || m[0].Path == nil || *m[0].Path.Value != "/" {
					t.Errorf("defaulted matches %+v", m)
				}
			},
		},
		crud[*gatewayv1.GatewayClass]{
			name: "GatewayClass (cluster-scoped)", client: testClient, kind: "GatewayClass.gateway.networking.k8s.io", clusterScoped: true,
			make: func(_, name string) *gatewayv1.GatewayClass {
				return &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: gatewayv1.GatewayClassSpec{ControllerName: "caddymesh.io/test"}}
			},
			change: func(gc *gatewayv1.GatewayClass) { gc.Spec.Description = ptr.To("updated") },
			check: func(t *testing.T, gc *gatewayv1.GatewayClass) {
				if gc.Spec.Description == nil || *gc.Spec.Description != "updated" {
					t.Errorf("updated description %v", gc.Spec.Description)
				}
			},
		},
		meshletCRUD("Meshlet", testClient, "Meshlet.meshless.caddymesh.io"),
		meshletCRUD("Meshlet (compat group)", compat, "Meshlet.ext.burningxflame.github.com"),
	} {
		t.Run(tc.caseName(), func(t *testing.T) {
			t.Parallel()
			tc.run(t)
		})
	}
}

func meshletCRUD(name string, c *Client, kind string) crudCase {
	return crud[*meshlessv1.Meshlet]{
		name: name, client: c, kind: kind,
		make: func(ns, name string) *meshlessv1.Meshlet { return testMeshlet(ns, name) },
		change: func(m *meshlessv1.Meshlet) {
			m.Spec.Server.Canary = []meshlessv1.CanaryVersion{{Version: "v1", Weight: 90}, {Version: "v2", Weight: 10}}
		},
		check: func(t *testing.T, m *meshlessv1.Meshlet) {
			if len(m.Spec.Server.Canary) != 2 || m.Spec.Server.Canary[1].Weight != 10 {
				t.Errorf("updated canary %+v", m.Spec.Server.Canary)
			}
		},
	}
}

// testMeshlet returns a valid Meshlet serving one service.
func testMeshlet(ns, name string) *meshlessv1.Meshlet {
	return &meshlessv1.Meshlet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: meshlessv1.MeshletSpec{
			Client: []meshlessv1.ServiceRef{{Namespace: ns, Meshlet: "db", Service: "sql"}},
			Server: &meshlessv1.Server{
				Selector: map[string]string{"app": name},
				Services: []meshlessv1.ServerService{{Name: "http", MaxConn: ptr.To[int32](100), IdleTimeout: &metav1.Duration{Duration: 90 * time.Second}}},
			},
		},
	}
}

// TestMeshletGroups checks that the canonical group is the default, that a
// WithGroupVersion view reaches the compat group, and that the two hold separate objects.
func TestMeshletGroups(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	compat := testClient.WithGroupVersion(meshlessv1.CompatGroupVersion)

	if _, err := Create(ctx, compat, testMeshlet(ns, "old"), CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(ctx, testClient, testMeshlet(ns, "new"), CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		client *Client
		want   string
	}{{testClient, "new"}, {compat, "old"}} {
		list, err := List[*meshlessv1.Meshlet](ctx, tc.client, ns, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != tc.want {
			t.Errorf("want only %q, got %d items", tc.want, len(list.Items))
		}
	}
	_, err := Get[*meshlessv1.Meshlet](ctx, testClient, ns, "old", GetOptions{})
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "Meshlet.meshless.caddymesh.io") {
		t.Errorf("compat Meshlet through the canonical group: want NotFound naming the group, got %v", err)
	}
	// A view for another group leaves other types alone.
	if _, err := List[*corev1.ConfigMap](ctx, compat, ns, ListOptions{}); err != nil {
		t.Errorf("ConfigMaps through the compat view: %v", err)
	}
}

// TestInvalidMeshletRejected checks that the Meshlet CRD's schema (the same markers
// Validate enforces) rejects bad Meshlets with Invalid errors that name the field, in both
// groups.
func TestInvalidMeshletRejected(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	for _, group := range []struct {
		name   string
		client *Client
	}{{"canonical", testClient}, {"compat", testClient.WithGroupVersion(meshlessv1.CompatGroupVersion)}} {
		for _, tc := range []struct {
			name  string
			edit  func(m *meshlessv1.Meshlet)
			patch string // a JSON merge patch, for values the Go types cannot hold
			field string
		}{
			{name: "canary weight 101", field: "spec.server.canary[0].weight",
				edit: func(m *meshlessv1.Meshlet) {
					m.Spec.Server.Canary = []meshlessv1.CanaryVersion{{Version: "v1", Weight: 101}}
				}},
			{name: "maxConn 0", field: "spec.server.services[0].maxConn",
				edit: func(m *meshlessv1.Meshlet) { m.Spec.Server.Services[0].MaxConn = ptr.To[int32](0) }},
			{name: "negative idleTimeout", field: "spec.server.services[0].idleTimeout",
				edit: func(m *meshlessv1.Meshlet) {
					m.Spec.Server.Services[0].IdleTimeout = &metav1.Duration{Duration: -5 * time.Second}
				}},
			{name: "idleTimeout in parsecs", field: "spec.server.services[0].idleTimeout",
				patch: `{"spec":{"server":{"services":[{"name":"http","idleTimeout":"5 parsecs"}]}}}`},
			{name: "name with a dot", field: "metadata.name",
				edit: func(m *meshlessv1.Meshlet) { m.Name = "web.v1" }},
			{name: "empty selector", field: "spec.server.selector",
				edit: func(m *meshlessv1.Meshlet) { m.Spec.Server.Selector = map[string]string{} }},
			{name: "client service not a label", field: "spec.client[0].service",
				edit: func(m *meshlessv1.Meshlet) { m.Spec.Client[0].Service = "SQL_DB" }},
		} {
			t.Run(group.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				m := testMeshlet(ns, randomName(group.name))
				var err error
				if tc.patch == "" {
					tc.edit(m)
					_, err = Create(ctx, group.client, m, CreateOptions{})
				} else {
					if _, err := Create(ctx, group.client, m, CreateOptions{}); err != nil {
						t.Fatal(err)
					}
					_, err = Patch[*meshlessv1.Meshlet](ctx, group.client, ns, m.Name, RawPatch{Type: MergePatch, Data: []byte(tc.patch)}, PatchOptions{})
				}
				if !apierrors.IsInvalid(err) {
					t.Fatalf("want Invalid, got %v", err)
				}
				if !strings.Contains(err.Error(), tc.field) {
					t.Errorf("error does not name %s: %v", tc.field, err)
				}
			})
		}
	}
}

// TestList checks label and field selectors, paging with limit and continue (by hand and
// with ListAll), and reading an older snapshot by resourceVersion.
func TestList(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	for i := range 5 {
		env := "dev"
		if i%2 == 0 {
			env = "prod"
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: fmt.Sprintf("cm-%d", i), Labels: map[string]string{"app": "list", "env": env},
		}}
		if _, err := Create(ctx, testClient, cm, CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(items []*corev1.ConfigMap) []string {
		var out []string
		for _, cm := range items {
			out = append(out, cm.Name)
		}
		return out
	}

	for _, tc := range []struct {
		name string
		opts ListOptions
		want []string
	}{
		{"all", ListOptions{}, []string{"cm-0", "cm-1", "cm-2", "cm-3", "cm-4"}},
		{"label selector", ListOptions{LabelSelector: "env=prod"}, []string{"cm-0", "cm-2", "cm-4"}},
		{"set-based label selector", ListOptions{LabelSelector: "app=list,env notin (prod)"}, []string{"cm-1", "cm-3"}},
		{"field selector", ListOptions{FieldSelector: "metadata.name=cm-3"}, []string{"cm-3"}},
		{"both selectors", ListOptions{LabelSelector: "env=dev", FieldSelector: "metadata.name!=cm-1"}, []string{"cm-3"}},
		{"no match", ListOptions{LabelSelector: "env=staging"}, nil},
	} {
		list, err := List[*corev1.ConfigMap](ctx, testClient, ns, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := names(list.Items); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	// Paging by hand: 2 + 2 + 1, one snapshot.
	var pages [][]string
	opts := ListOptions{Limit: 2}
	var first *ObjectList[*corev1.ConfigMap]
	for {
		page, err := List[*corev1.ConfigMap](ctx, testClient, ns, opts)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = page
		}
		pages = append(pages, names(page.Items))
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}
	if fmt.Sprint(pages) != "[[cm-0 cm-1] [cm-2 cm-3] [cm-4]]" {
		t.Errorf("pages %v", pages)
	}
	if first.RemainingItemCount == nil || *first.RemainingItemCount != 3 {
		t.Errorf("first page's remaining item count %v, want 3", first.RemainingItemCount)
	}

	all, err := ListAll[*corev1.ConfigMap](ctx, testClient, ns, ListOptions{Limit: 2, LabelSelector: "app=list"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 5 || all.ResourceVersion == "" || all.Continue != "" {
		t.Errorf("ListAll: %d items, rv %q, continue %q", len(all.Items), all.ResourceVersion, all.Continue)
	}

	// A snapshot from before a change still reads as it was.
	if _, err := Create(ctx, testClient, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cm-5"}}, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	then, err := List[*corev1.ConfigMap](ctx, testClient, ns, ListOptions{ResourceVersion: all.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil {
		t.Fatal(err)
	}
	now, err := ListAll[*corev1.ConfigMap](ctx, testClient, ns, ListOptions{Limit: 4, ResourceVersion: all.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	if len(then.Items) != 5 || then.ResourceVersion != all.ResourceVersion || len(now.Items) != 6 {
		t.Errorf("exact snapshot: %d items at %s (want 5 at %s); now %d (want 6)", len(then.Items), then.ResourceVersion, all.ResourceVersion, len(now.Items))
	}

	// Meshlets (a CRD, listed through the watch cache) by label across namespaces.
	m := testMeshlet(ns, "labelled")
	m.Labels = map[string]string{"list-test": ns}
	if _, err := Create(ctx, testClient, m, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	meshlets, err := List[*meshlessv1.Meshlet](ctx, testClient, "", ListOptions{LabelSelector: "list-test=" + ns})
	if err != nil {
		t.Fatal(err)
	}
	if len(meshlets.Items) != 1 || meshlets.Items[0].Namespace != ns {
		t.Errorf("meshlets by label in all namespaces: %d", len(meshlets.Items))
	}
}

// TestResolveErrors checks the errors of types the client cannot send anywhere, and of
// namespaces that do not fit the type's scope: each names the problem and the type.
func TestResolveErrors(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)

	// Meshlet's Go type under a group no CRD serves.
	s := Scheme()
	absent := schema.GroupVersion{Group: "absent.caddymesh.io", Version: "v1"}
	s.AddKnownTypes(absent, &meshlessv1.Meshlet{}, &meshlessv1.MeshletList{})
	c, err := NewClient(cluster.Config(), WithScheme(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = Get[*meshlessv1.Meshlet](ctx, c.WithGroupVersion(absent), "default", "x", GetOptions{})
	if !meta.IsNoMatchError(err) || !strings.Contains(err.Error(), "absent.caddymesh.io") {
		t.Errorf("unserved group: want a no-match error naming it, got %v", err)
	}

	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"unregistered type", func() error { _, err := Get[*unregistered](ctx, testClient, "default", "x", GetOptions{}); return err }(), "not registered"},
		{"cluster-scoped with a namespace", func() error {
			_, err := Get[*gatewayv1.GatewayClass](ctx, testClient, "default", "x", GetOptions{})
			return err
		}(), "cluster-scoped"},
		{"namespaced without one", func() error { _, err := Get[*corev1.ConfigMap](ctx, testClient, "", "x", GetOptions{}); return err }(), "no namespace"},
		{"create without one", func() error {
			_, err := Create(ctx, testClient, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, CreateOptions{})
			return err
		}(), "creating ConfigMap x: ConfigMap is namespaced"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: want an error saying %q, got %v", tc.name, tc.want, tc.err)
		}
	}
}

// unregistered is an API type no scheme knows.
type unregistered struct {
	metav1.TypeMeta
	metav1.ObjectMeta
}

func (u *unregistered) DeepCopyObject() runtime.Object { c := *u; return &c }

// TestCRDInstalledLater checks that a client that has already read discovery finds a CRD
// installed after it: the RESTMapper is reset once on a no-match.
func TestCRDInstalledLater(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	group := randomName("late") + ".caddymesh.io"
	gv := schema.GroupVersion{Group: group, Version: "v1"}
	s := Scheme()
	s.AddKnownTypes(gv, &meshlessv1.Meshlet{}, &meshlessv1.MeshletList{})
	metav1.AddToGroupVersion(s, gv)
	c, err := NewClient(cluster.Config(), WithScheme(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	late := c.WithGroupVersion(gv)

	// Discovery is read, and the group is not there.
	if _, err := List[*corev1.ConfigMap](ctx, c, ns, ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := List[*meshlessv1.Meshlet](ctx, late, ns, ListOptions{}); !meta.IsNoMatchError(err) {
		t.Fatalf("before the CRD: want no match, got %v", err)
	}

	installMeshletCRD(t, group)
	var created *meshlessv1.Meshlet
	waitNoError(t, 30*time.Second, func() error {
		var err error
		created, err = Create(ctx, late, testMeshlet(ns, "late"), CreateOptions{})
		return err
	})
	got, err := Get[*meshlessv1.Meshlet](ctx, late, ns, "late", GetOptions{})
	if err != nil || got.UID != created.UID {
		t.Fatalf("get from the late group: %v", err)
	}
}

// installMeshletCRD installs a copy of the Meshlet CRD under another group, with the
// dynamic client (the package's client has no CRD type: apiextensions is not a dependency).
func installMeshletCRD(t *testing.T, group string) {
	t.Helper()
	data, err := os.ReadFile("../../examples/kubernetes/crds/meshless.caddymesh.io_meshlets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.ReplaceAll(string(data), meshlessv1.GroupName, group))
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &crd.Object); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := dyn.Resource(gvr).Create(testContext(t), crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(gvr).Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{})
	})
}

// eventually retries f until it succeeds or the time is up.
func waitNoError(t *testing.T, limit time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not done after %s: %v", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWireFormats checks the encodings on the wire: protobuf for built-in types (the API
// server's cheaper encoding), JSON for CRDs, which only speak JSON, and JSON for Watch,
// whose decoder is fixed before the response arrives.
func TestWireFormats(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	var mu sync.Mutex
	seen := map[string]string{} // "METHOD resource" → "request type → response type"
	cfg := cluster.Config()
	cfg.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			if err == nil {
				parts := strings.Split(req.URL.Path, "/")
				mu.Lock()
				seen[req.Method+" "+parts[len(parts)-1]] = req.Header.Get("Content-Type") + " → " + resp.Header.Get("Content-Type")
				mu.Unlock()
			}
			return resp, err
		})
	})
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := Create(ctx, c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "proto"}}, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Get[*corev1.ConfigMap](ctx, c, ns, "proto", GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(ctx, c, &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "json"}}, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Get[*gatewayv1.HTTPRoute](ctx, c, ns, "json", GetOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := Watch[*corev1.ConfigMap](ctx, c, ns, WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Stop()
	const pb, js = "application/vnd.kubernetes.protobuf", "application/json"
	mu.Lock()
	defer mu.Unlock()
	for key, want := range map[string]string{
		"POST configmaps": pb + " → " + pb,
		"GET proto":       " → " + pb,
		"POST httproutes": js + " → " + js,
		"GET json":        " → " + js,
		"GET configmaps":  " → " + js, // the watch
	} {
		if got := seen[key]; got != want {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestUpdateStatus checks Update of the status subresource: the status changes, and the
// spec sent along is ignored.
func TestUpdateStatus(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	svc, err := Create(ctx, testClient, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "lb"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}},
	}, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.30"}}
	svc.Spec.Ports[0].Port = 81
	got, err := Update(ctx, testClient, svc, UpdateOptions{Subresource: "status", FieldManager: "lb-controller"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Status.LoadBalancer.Ingress) != 1 || got.Spec.Ports[0].Port != 80 {
		t.Errorf("status update: ingress %v, port %d", got.Status.LoadBalancer.Ingress, got.Spec.Ports[0].Port)
	}
}

// TestListAllAfterExpiredContinue compacts etcd between ListAll's pages, so that the
// continue token's snapshot is gone (410): ListAll falls back to one unpaged list, of the
// current state. It is not parallel: compaction is cluster-wide.
func TestListAllAfterExpiredContinue(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	for i := range 3 {
		if _, err := Create(ctx, testClient, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("cm-%d", i)}}, CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var requests []string
	var compactErr error
	cfg := cluster.Config()
	cfg.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			q := req.URL.Query()
			if err != nil || !strings.HasSuffix(req.URL.Path, "/namespaces/"+ns+"/configmaps") {
				return resp, err
			}
			requests = append(requests, fmt.Sprintf("limit=%s continue=%v %d", q.Get("limit"), q.Get("continue") != "", resp.StatusCode))
			if q.Get("limit") != "" && q.Get("continue") == "" {
				// After the first page: a change, then a compaction past the page's snapshot.
				_, compactErr = Create(ctx, testClient, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cm-late"}}, CreateOptions{})
				if compactErr == nil {
					_, compactErr = cluster.Compact(ctx)
				}
			}
			return resp, err
		})
	})
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	all, err := ListAll[*corev1.ConfigMap](ctx, c, ns, ListOptions{Limit: 2})
	if err != nil || compactErr != nil {
		t.Fatalf("ListAll: %v (compacting: %v)", err, compactErr)
	}
	if len(all.Items) != 4 {
		t.Errorf("ListAll after the fallback: %d items, want all 4", len(all.Items))
	}
	want := []string{"limit=2 continue=false 200", "limit=2 continue=true 410", "limit= continue=false 200"}
	if !slices.Equal(requests, want) {
		t.Errorf("requests %v, want %v", requests, want)
	}
}
