package kube

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

// TestPatchKinds sends each patch format to one Service and checks the result: strategic
// merge merges lists by key, JSON merge replaces them, JSON patch runs operations (and a
// failed test operation changes nothing), and a status patch reaches the subresource.
func TestPatchKinds(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	if _, err := Create(ctx, testClient, svc, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ports := func(s *corev1.Service) []string {
		var out []string
		for _, p := range s.Spec.Ports {
			out = append(out, p.Name+":"+itoa(p.Port))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		patch RawPatch
		opts  PatchOptions
		check func(t *testing.T, s *corev1.Service)
	}{
		{
			name:  "strategic merge adds a port by key",
			patch: RawPatch{Type: StrategicMerge, Data: []byte(`{"metadata":{"labels":{"a":"1"}},"spec":{"ports":[{"name":"https","port":443}]}}`)},
			check: func(t *testing.T, s *corev1.Service) {
				if got := ports(s); !slices.Equal(got, []string{"https:443", "http:80"}) {
					t.Errorf("ports %v", got)
				}
				if s.Labels["a"] != "1" {
					t.Errorf("labels %v", s.Labels)
				}
			},
		},
		{
			name:  "JSON merge replaces the list",
			patch: RawPatch{Type: MergePatch, Data: []byte(`{"metadata":{"labels":{"b":"2"}},"spec":{"ports":[{"name":"admin","port":8080}]}}`)},
			check: func(t *testing.T, s *corev1.Service) {
				if got := ports(s); !slices.Equal(got, []string{"admin:8080"}) {
					t.Errorf("ports %v", got)
				}
				if s.Labels["a"] != "1" || s.Labels["b"] != "2" {
					t.Errorf("labels %v", s.Labels)
				}
			},
		},
		{
			name: "JSON patch runs operations",
			patch: RawPatch{Type: JSONPatch, Data: []byte(`[
				{"op":"test","path":"/metadata/labels/a","value":"1"},
				{"op":"replace","path":"/spec/ports/0/port","value":8081},
				{"op":"remove","path":"/metadata/labels/a"}]`)},
			check: func(t *testing.T, s *corev1.Service) {
				if got := ports(s); !slices.Equal(got, []string{"admin:8081"}) {
					t.Errorf("ports %v", got)
				}
				if _, ok := s.Labels["a"]; ok || s.Labels["b"] != "2" {
					t.Errorf("labels %v", s.Labels)
				}
			},
		},
		{
			name:  "merge patch of the status subresource",
			patch: RawPatch{Type: MergePatch, Data: []byte(`{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}},"spec":{"ports":[]}}`)},
			opts:  PatchOptions{Subresource: "status", FieldManager: "lb-controller"},
			check: func(t *testing.T, s *corev1.Service) {
				if in := s.Status.LoadBalancer.Ingress; len(in) != 1 || in[0].IP != "192.0.2.10" {
					t.Errorf("ingress %v", in)
				}
				// The status endpoint ignores the spec.
				if got := ports(s); !slices.Equal(got, []string{"admin:8081"}) {
					t.Errorf("ports %v", got)
				}
			},
		},
	} {
		got, err := Patch[*corev1.Service](ctx, testClient, ns, "web", tc.patch, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		tc.check(t, got)
	}

	// A failed test operation fails the whole patch.
	before, err := Get[*corev1.Service](ctx, testClient, ns, "web", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Patch[*corev1.Service](ctx, testClient, ns, "web", RawPatch{Type: JSONPatch, Data: []byte(`[
		{"op":"replace","path":"/metadata/labels/b","value":"3"},
		{"op":"test","path":"/metadata/labels/b","value":"2"}]`)}, PatchOptions{})
	if err == nil || !strings.Contains(err.Error(), "patching Service "+ns+"/web") {
		t.Errorf("failed test op: want an error naming the service, got %v", err)
	}
	t.Logf("failed JSON patch test op: %v", err)
	after, err := Get[*corev1.Service](ctx, testClient, ns, "web", GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion || after.Labels["b"] != "2" {
		t.Errorf("a failed JSON patch changed the object: labels %v", after.Labels)
	}

	// Dry run validates without writing.
	dry, err := Patch[*corev1.Service](ctx, testClient, ns, "web", RawPatch{Type: MergePatch, Data: []byte(`{"metadata":{"labels":{"dry":"run"}}}`)}, PatchOptions{DryRun: true})
	if err != nil || dry.Labels["dry"] != "run" {
		t.Fatalf("dry run: %v", err)
	}
	if now, _ := Get[*corev1.Service](ctx, testClient, ns, "web", GetOptions{}); now.Labels["dry"] != "" {
		t.Error("a dry-run patch was persisted")
	}
}

// TestPatchRefusals checks the patches that cannot work: strategic merge on a CRD (the
// server's 415), server-side apply through Patch, and an unknown format.
func TestPatchRefusals(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "r"}}
	if _, err := Create(ctx, testClient, route, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := Patch[*gatewayv1.HTTPRoute](ctx, testClient, ns, "r", RawPatch{Type: StrategicMerge, Data: []byte(`{"spec":{}}`)}, PatchOptions{})
	if !apierrors.IsUnsupportedMediaType(err) {
		t.Errorf("strategic merge on a CRD: want 415, got %v", err)
	}
	t.Logf("strategic merge on a CRD: %v", err)
	for _, pt := range []PatchType{types.ApplyYAMLPatchType, "application/xml"} {
		if _, err := Patch[*gatewayv1.HTTPRoute](ctx, testClient, ns, "r", RawPatch{Type: pt, Data: []byte(`{}`)}, PatchOptions{}); err == nil {
			t.Errorf("patch type %s: want an error", pt)
		}
	}
}

// TestApply checks server-side apply: create by apply, removal of fields no longer
// applied, a conflict with another manager (IsConflict, naming the manager) and success
// with Force, dry run, the resourceVersion precondition, and the status subresource.
func TestApply(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(t)
	cm := func(data map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}, Data: data}
	}

	first, err := Apply(ctx, testClient, cm(map[string]string{"k": "a", "x": "1"}), ApplyOptions{FieldManager: "manager-a"})
	if err != nil {
		t.Fatalf("apply creating: %v", err)
	}
	if first.Data["k"] != "a" || first.Data["x"] != "1" || !managedBy(first, "manager-a", metav1.ManagedFieldsOperationApply) {
		t.Fatalf("created by apply: data %v, managers %v", first.Data, first.ManagedFields)
	}

	second, err := Apply(ctx, testClient, cm(map[string]string{"k": "a"}), ApplyOptions{FieldManager: "manager-a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := second.Data["x"]; ok {
		t.Errorf("a field no longer applied was kept: %v", second.Data)
	}

	// Re-applying the same configuration changes nothing.
	same, err := Apply(ctx, testClient, cm(map[string]string{"k": "a"}), ApplyOptions{FieldManager: "manager-a"})
	if err != nil || same.ResourceVersion != second.ResourceVersion {
		t.Errorf("no-op apply: rv %s → %s, %v", second.ResourceVersion, same.ResourceVersion, err)
	}

	_, err = Apply(ctx, testClient, cm(map[string]string{"k": "b"}), ApplyOptions{FieldManager: "manager-b"})
	if !apierrors.IsConflict(err) {
		t.Fatalf("conflicting apply: want Conflict, got %v", err)
	}
	t.Logf("conflict error: %v", err)
	for _, want := range []string{`"manager-a"`, ".data.k", `field manager "manager-b"`, "settings"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("conflict error does not say %s: %v", want, err)
		}
	}

	if _, err := Apply(ctx, testClient, cm(map[string]string{"k": "dry"}), ApplyOptions{FieldManager: "manager-b", Force: true, DryRun: true}); err != nil {
		t.Fatalf("dry-run apply: %v", err)
	}
	forced, err := Apply(ctx, testClient, cm(map[string]string{"k": "b"}), ApplyOptions{FieldManager: "manager-b", Force: true})
	if err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	if forced.Data["k"] != "b" {
		t.Errorf("forced apply: data %v", forced.Data)
	}

	stale := cm(map[string]string{"k": "c"})
	stale.ResourceVersion = first.ResourceVersion
	if _, err := Apply(ctx, testClient, stale, ApplyOptions{FieldManager: "manager-b"}); !apierrors.IsConflict(err) {
		t.Errorf("apply at a stale resourceVersion: want Conflict, got %v", err)
	}
	if _, err := Apply(ctx, testClient, cm(nil), ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "field manager") {
		t.Errorf("apply without a field manager: %v", err)
	}

	// The status subresource: only the status is sent, and the status is what changes.
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "lb"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := Create(ctx, testClient, svc, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	status := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "lb"}}
	status.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.20"}}
	got, err := ApplyStatus(ctx, testClient, status, ApplyOptions{FieldManager: "lb-controller"})
	if err != nil {
		t.Fatalf("apply status: %v", err)
	}
	if in := got.Status.LoadBalancer.Ingress; len(in) != 1 || in[0].IP != "192.0.2.20" || got.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("applied status %+v, type %s", got.Status, got.Spec.Type)
	}
}

// managedBy reports whether manager owns fields of obj through op.
func managedBy(obj metav1.Object, manager string, op metav1.ManagedFieldsOperationType) bool {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager == manager && mf.Operation == op {
			return true
		}
	}
	return false
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// TestApplyBody checks the apply configuration sent: apiVersion and kind of the resolved
// resource, numbers intact, and only identity and status for the status subresource.
func TestApplyBody(t *testing.T) {
	m := testMeshlet("ns", "web")
	m.ResourceVersion = "42"
	m.Spec.Server.Services[0].MaxConn = ptr.To[int32](2147483647)
	for _, tc := range []struct {
		name, sub string
		want      []string
		not       []string
	}{
		{"object", "", []string{`"apiVersion":"meshless.caddymesh.io/v1"`, `"kind":"Meshlet"`, `"maxConn":2147483647`, `"resourceVersion":"42"`}, nil},
		{"status", "status", []string{`"metadata":{"name":"web","namespace":"ns","resourceVersion":"42"}`}, []string{"spec", "creationTimestamp"}},
	} {
		r := &target{gvk: meshlessv1.GroupVersionKind()}
		body, err := applyBody(m, r, tc.sub)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range tc.want {
			if !strings.Contains(string(body), want) {
				t.Errorf("%s: %s lacks %s", tc.name, body, want)
			}
		}
		for _, not := range tc.not {
			if strings.Contains(string(body), not) {
				t.Errorf("%s: %s has %s", tc.name, body, not)
			}
		}
	}
	if m.APIVersion != "" || m.Kind != "" {
		t.Error("applyBody changed the object")
	}
}
