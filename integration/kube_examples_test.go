package integration

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/caddymesh/caddymesh/integration/kubeharness"
	"github.com/caddymesh/caddymesh/modules/kube"
	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
	meshlessv1 "github.com/caddymesh/caddymesh/modules/mesh/apis/meshless/v1"
)

const (
	examplesDir = "../examples/kubernetes"
	demoNS      = "caddymesh-demo"
	systemNS    = "caddymesh-system"
	agentSA     = "caddymesh-agent"
	gatewaySA   = "caddymesh-gateway"
)

// exampleManifests are the Kubernetes example's manifests in the order its README applies
// them (after crds/, which the harness installs), with the kinds each holds.
var exampleManifests = []struct {
	file  string
	kinds map[string]int
}{
	{"namespace.yaml", map[string]int{"Namespace": 2}},
	{"rbac.yaml", map[string]int{"ServiceAccount": 2, "ClusterRole": 2, "ClusterRoleBinding": 2, "Role": 3, "RoleBinding": 3}},
	{"node-agent.yaml", map[string]int{"ConfigMap": 1, "DaemonSet": 1}},
	{"gateway.yaml", map[string]int{"ConfigMap": 1, "Deployment": 1, "Service": 1}},
	{"demo.yaml", map[string]int{"Meshlet": 2, "Deployment": 3, "Service": 1, "GatewayClass": 1, "Gateway": 1, "HTTPRoute": 1}},
}

// TestKubernetesExamplesApply server-side applies every manifest of the example to a real
// API server, with strict field validation: a misspelt or misplaced field, a value outside a
// CRD's schema or a Pod spec the API server refuses fails here rather than in a user's
// cluster.
func TestKubernetesExamplesApply(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range exampleManifests {
		listed = append(listed, filepath.Join(examplesDir, m.file))
	}
	slices.Sort(files)
	slices.Sort(listed)
	if !slices.Equal(files, listed) {
		t.Fatalf("examples/kubernetes/*.yaml are %q; the test covers %q", files, listed)
	}

	k := newApplier(t, sharedCluster(t))
	for _, m := range exampleManifests {
		t.Run(m.file, func(t *testing.T) {
			objs := readManifest(t, m.file)
			kinds := map[string]int{}
			for _, obj := range objs {
				kinds[obj.GetKind()]++
			}
			if !maps.Equal(kinds, m.kinds) {
				t.Errorf("kinds %v, want %v", kinds, m.kinds)
			}
			for _, obj := range objs {
				applied, err := k.Apply(t.Context(), obj, false)
				if err != nil {
					t.Errorf("%s: %v", describe(obj), err)
					continue
				}
				if applied.GetUID() == "" {
					t.Errorf("%s: applied object has no uid", describe(obj))
				}
			}
		})
	}

	// The same validation refuses what it should, so the passes above mean something.
	t.Run("strict validation refuses", func(t *testing.T) {
		backend := findObject(t, readManifest(t, "demo.yaml"), "Meshlet", "backend")
		agent := findObject(t, readManifest(t, "node-agent.yaml"), "DaemonSet", agentSA)
		cases := []struct {
			name   string
			obj    *unstructured.Unstructured
			change func(o map[string]any)
			want   string
		}{
			{"unknown Meshlet field", backend, func(o map[string]any) {
				svc := nestedSlice(o, "spec", "server", "services")[0].(map[string]any)
				svc["maxconn"] = int64(5)
			}, "field not declared in schema"},
			{"canary weight over 100", backend, func(o map[string]any) {
				v := nestedSlice(o, "spec", "server", "canary")[0].(map[string]any)
				v["weight"] = int64(101)
			}, "weight"},
			{"unknown Pod field", agent, func(o map[string]any) {
				c := nestedSlice(o, "spec", "template", "spec", "containers")[0].(map[string]any)
				c["imagePullPolice"] = "Always"
			}, "field not declared in schema"},
		}
		for _, tc := range cases {
			obj := tc.obj.DeepCopy()
			tc.change(obj.Object)
			_, err := k.Apply(t.Context(), obj, true)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
			}
		}
	})
}

// TestKubernetesExamplesRBAC checks, as each service account, what rbac.yaml lets it do:
// what its Caddyfile reads and the gateway's status writes, and nothing more.
func TestKubernetesExamplesRBAC(t *testing.T) {
	rbacOnlyWhatIsNeeded(t, readManifest(t, "rbac.yaml"))

	c := sharedCluster(t)
	admin := newApplier(t, c)
	for _, f := range []string{"namespace.yaml", "rbac.yaml"} {
		if _, err := admin.ApplyFile(t.Context(), filepath.Join(examplesDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	as := map[string]kubernetes.Interface{}
	for _, sa := range []string{agentSA, gatewaySA} {
		token, err := c.ServiceAccountToken(t.Context(), systemNS, sa)
		if err != nil {
			t.Fatal(err)
		}
		as[sa] = newClientset(t, c.ConfigWithToken(token))
	}

	type check struct {
		who     string
		attr    authorizationv1.ResourceAttributes
		allowed bool
	}
	var checks []check
	add := func(allowed bool, who []string, verbs []string, group, resource, ns string) {
		res, sub, _ := strings.Cut(resource, "/")
		for _, w := range who {
			for _, v := range verbs {
				checks = append(checks, check{w, authorizationv1.ResourceAttributes{
					Verb: v, Group: group, Resource: res, Subresource: sub, Namespace: ns,
				}, allowed})
			}
		}
	}
	both := []string{agentSA, gatewaySA}
	reads := []string{"get", "list", "watch"}
	add(true, both, reads, "", "pods", demoNS)
	add(true, both, reads, meshlessv1.GroupName, "meshlets", demoNS)
	add(true, both, reads, meshlessv1.CompatGroupName, "meshlets", demoNS)
	add(true, both, reads, "gateway.networking.k8s.io", "httproutes", demoNS)
	add(true, both, reads, "", "namespaces", "")
	add(true, both, reads, gatewayv1alpha1.GroupName, "httpfilters", demoNS)
	// TLS certificates: the gateway's, in the application namespace only.
	add(true, []string{gatewaySA}, reads, "", "secrets", demoNS)
	add(true, []string{gatewaySA}, []string{"patch", "update"}, "gateway.networking.k8s.io", "httproutes/status", demoNS)
	add(true, []string{gatewaySA}, []string{"patch", "update"}, "gateway.networking.k8s.io", "gateways/status", demoNS)
	add(true, []string{gatewaySA}, []string{"patch", "update"}, "gateway.networking.k8s.io", "gatewayclasses/status", "")
	// Whatever each Caddyfile reads, it may read.
	for _, src := range []struct{ sa, file string }{{agentSA, "node-agent.yaml"}, {gatewaySA, "gateway.yaml"}} {
		cfg := sourceSettings(t, caddyfileOf(t, src.file, src.sa))
		for _, kind := range cfg.kinds {
			for _, gr := range sourceKinds[kind] {
				if gr.clusterScoped {
					add(true, []string{src.sa}, []string{"list", "watch"}, gr.group, gr.resource, "")
					continue
				}
				for _, ns := range cfg.namespaces {
					add(true, []string{src.sa}, []string{"list", "watch"}, gr.group, gr.resource, ns)
				}
			}
		}
	}
	add(false, []string{agentSA}, []string{"get", "list", "watch"}, "", "secrets", demoNS)
	add(false, both, []string{"create", "update", "patch", "delete"}, "", "secrets", demoNS)
	add(false, both, []string{"list"}, "", "secrets", systemNS)
	add(false, both, []string{"list"}, "", "secrets", "")
	add(false, both, []string{"create"}, "", "pods", demoNS)
	add(false, both, []string{"list"}, "", "pods", "default")
	add(false, both, []string{"list"}, "", "pods", "") // every namespace
	add(false, both, []string{"list"}, meshlessv1.GroupName, "meshlets", "default")
	add(false, both, []string{"update"}, "", "configmaps", systemNS) // its own Caddyfile
	add(false, both, []string{"patch", "update"}, "gateway.networking.k8s.io", "httproutes", demoNS)
	add(false, []string{agentSA}, []string{"patch", "update"}, "gateway.networking.k8s.io", "httproutes/status", demoNS)
	add(false, []string{agentSA}, []string{"patch"}, "gateway.networking.k8s.io", "gateways/status", demoNS)
	add(false, []string{agentSA}, []string{"patch"}, "gateway.networking.k8s.io", "gatewayclasses/status", "")
	for _, r := range []struct{ group, resource, ns string }{
		{"", "pods", demoNS}, {"", "services", demoNS}, {"discovery.k8s.io", "endpointslices", demoNS},
		{meshlessv1.GroupName, "meshlets", demoNS}, {meshlessv1.CompatGroupName, "meshlets", demoNS},
		{"gateway.networking.k8s.io", "httproutes", demoNS}, {"gateway.networking.k8s.io", "gateways", demoNS},
		{"", "namespaces", ""}, {"gateway.networking.k8s.io", "gatewayclasses", ""},
		{"", "serviceaccounts", systemNS}, {"*", "*", ""},
	} {
		add(false, both, []string{"delete", "deletecollection"}, r.group, r.resource, r.ns)
	}

	// RBAC reaches the authorizer through its informers, a moment after the apply: wait
	// for every allowed check first, so that the denials below are not read from a cache
	// that has not seen the rules yet.
	review := func(ch check) (bool, error) {
		attr := ch.attr
		r, err := as[ch.who].AuthorizationV1().SelfSubjectAccessReviews().Create(t.Context(),
			&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attr}},
			metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		return r.Status.Allowed, nil
	}
	slices.SortStableFunc(checks, func(a, b check) int {
		if a.allowed == b.allowed {
			return 0
		}
		if a.allowed {
			return -1
		}
		return 1
	})
	for _, ch := range checks {
		name := fmt.Sprintf("%s %s %s", ch.who, ch.attr.Verb, attrString(ch.attr))
		if ch.allowed {
			eventually(t, 10*time.Second, func() string {
				ok, err := review(ch)
				if err != nil {
					return name + ": " + err.Error()
				}
				if !ok {
					return name + ": denied, want allowed"
				}
				return ""
			})
			continue
		}
		ok, err := review(ch)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if ok {
			t.Errorf("%s: allowed, want denied", name)
		}
	}
}

// rbacOnlyWhatIsNeeded checks the rules themselves: no wildcard, no verb beyond reads and
// status writes, writes only on status, and namespaced grants only in the demo namespace.
func rbacOnlyWhatIsNeeded(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	allowed := []string{"get", "list", "watch", "patch", "update"}
	for _, obj := range objs {
		if obj.GetKind() != "Role" && obj.GetKind() != "ClusterRole" {
			continue
		}
		if obj.GetKind() == "Role" && obj.GetNamespace() != demoNS {
			t.Errorf("%s: a Role outside %s", describe(obj), demoNS)
		}
		var role rbacv1.ClusterRole // the same rules field as a Role
		fromUnstructured(t, obj, &role)
		if len(role.Rules) == 0 {
			t.Errorf("%s: no rules", describe(obj))
		}
		for i, r := range role.Rules {
			all := slices.Concat(r.Verbs, r.APIGroups, r.Resources, r.ResourceNames, r.NonResourceURLs)
			if slices.Contains(all, "*") {
				t.Errorf("%s: rule %d has a wildcard: %+v", describe(obj), i, r)
			}
			for _, res := range r.Resources {
				if base, _, _ := strings.Cut(res, "/"); obj.GetKind() == "ClusterRole" && !clusterScopedResource(base) {
					t.Errorf("%s: rule %d grants the namespaced %s in every namespace", describe(obj), i, res)
				}
			}
			for _, v := range r.Verbs {
				if !slices.Contains(allowed, v) {
					t.Errorf("%s: rule %d grants %q", describe(obj), i, v)
				}
				if v != "get" && v != "list" && v != "watch" {
					for _, res := range r.Resources {
						if !strings.HasSuffix(res, "/status") {
							t.Errorf("%s: rule %d grants %s on %s, which is not a status", describe(obj), i, v, res)
						}
					}
				}
			}
		}
	}
}

// TestKubernetesExamplesReferences checks what the API server does not: that the example's
// objects refer to one another correctly (labels, selectors, ports, names).
func TestKubernetesExamplesReferences(t *testing.T) {
	var all []*unstructured.Unstructured
	for _, m := range exampleManifests {
		all = append(all, readManifest(t, m.file)...)
	}
	for _, p := range exampleProblems(t, all) {
		t.Error(p)
	}
}

// TestKubernetesExamplesCaddyfiles adapts the Caddyfiles of the example's ConfigMaps.
func TestKubernetesExamplesCaddyfiles(t *testing.T) {
	for _, src := range []struct{ file, name string }{{"node-agent.yaml", agentSA}, {"gateway.yaml", gatewaySA}} {
		t.Run(src.file, func(t *testing.T) {
			cfg := sourceSettings(t, caddyfileOf(t, src.file, src.name))
			if cfg.name != "cluster" {
				t.Errorf("source named %q, want cluster", cfg.name)
			}
			if cfg.admin != "localhost:2019" {
				t.Errorf("admin listens on %q, want localhost:2019", cfg.admin)
			}
			if !slices.Equal(slices.Sorted(maps.Keys(sourceKinds)), slices.Sorted(slices.Values(kube.KindNames()))) {
				t.Errorf("this test's kinds %v are not the source's %v", slices.Sorted(maps.Keys(sourceKinds)), kube.KindNames())
			}
		})
	}
}

// TestCompatCRDMatches: the Meshlet CRD in Meshless's own group is the canonical CRD with
// only the group changed, in metadata.name and spec.group.
func TestCompatCRDMatches(t *testing.T) {
	read := func(name string) map[string]any {
		data, err := os.ReadFile(filepath.Join(examplesDir, "crds", name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	canonical := read(meshlessv1.GroupName + "_meshlets.yaml")
	compat := read(meshlessv1.CompatGroupName + "_meshlets.yaml")
	for _, c := range []struct {
		crd   map[string]any
		group string
	}{{canonical, meshlessv1.GroupName}, {compat, meshlessv1.CompatGroupName}} {
		name, _, _ := unstructured.NestedString(c.crd, "metadata", "name")
		group, _, _ := unstructured.NestedString(c.crd, "spec", "group")
		if name != meshlessv1.Resource+"."+c.group || group != c.group {
			t.Errorf("CRD %q of group %q, want %s.%s of group %s", name, group, meshlessv1.Resource, c.group, c.group)
		}
	}
	// With the compat CRD's group set back, nothing else may differ.
	for _, path := range [][]string{{"metadata", "name"}, {"spec", "group"}} {
		v, _, _ := unstructured.NestedString(canonical, path...)
		if err := unstructured.SetNestedField(compat, v, path...); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(canonical, compat) {
		a, _ := yaml.Marshal(canonical)
		b, _ := yaml.Marshal(compat)
		t.Errorf("the compat CRD differs beyond its group (regenerate with `make generate`):\n%s", firstDiff(string(a), string(b)))
	}
}

// firstDiff returns the first line where a and b differ, with its number.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(la), len(lb)) {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n canonical: %s\n    compat: %s", i+1, x, y)
		}
	}
	return "(no line differs)"
}

// newApplier returns the harness's strict server-side applier for the admin, closed when
// the test ends.
func newApplier(t *testing.T, c *kubeharness.Cluster) *kubeharness.Applier {
	t.Helper()
	a, err := c.NewApplier()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// newClientset returns a clientset whose idle connections close when the test ends.
func newClientset(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// readManifest decodes every object of an example manifest.
func readManifest(t *testing.T, file string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := kubeharness.ReadObjects(filepath.Join(examplesDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func findObject(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, obj := range objs {
		if obj.GetKind() == kind && obj.GetName() == name {
			return obj
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

// fromUnstructured converts obj to a typed object through JSON, as a client would decode it.
func fromUnstructured(t *testing.T, obj *unstructured.Unstructured, into any) {
	t.Helper()
	data, err := json.Marshal(obj.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", describe(obj), err)
	}
}

// nestedSlice returns the slice at fields itself, not a copy, for a test to change.
func nestedSlice(obj map[string]any, fields ...string) []any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	s, _ := v.([]any)
	return s
}

func describe(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return obj.GetKind() + " " + ns + "/" + obj.GetName()
	}
	return obj.GetKind() + " " + obj.GetName()
}

func attrString(a authorizationv1.ResourceAttributes) string {
	s := a.Resource
	if a.Group != "" {
		s += "." + a.Group
	}
	if a.Subresource != "" {
		s += "/" + a.Subresource
	}
	if a.Namespace == "" {
		return s + " (cluster-wide)"
	}
	return s + " in " + a.Namespace
}

// caddyfileOf returns the Caddyfile of the ConfigMap name in an example manifest.
func caddyfileOf(t *testing.T, file, name string) string {
	t.Helper()
	var cm corev1.ConfigMap
	fromUnstructured(t, findObject(t, readManifest(t, file), "ConfigMap", name), &cm)
	text, ok := cm.Data["Caddyfile"]
	if !ok {
		t.Fatalf("%s: ConfigMap %s has no Caddyfile", file, name)
	}
	return text
}

// sourceOptions are the settings of a Caddyfile's kubernetes source that RBAC must allow.
type sourceOptions struct {
	admin      string
	name       string
	namespaces []string
	kinds      []string // every kind the source knows when the Caddyfile lists none
}

// sourceSettings adapts a Caddyfile and returns its one kubernetes source's options.
func sourceSettings(t *testing.T, text string) sourceOptions {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(text), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapting: %v", err)
	}
	var cfg struct {
		Admin struct {
			Listen string `json:"listen"`
		} `json:"admin"`
		Apps struct {
			Mesh struct {
				Sources map[string]json.RawMessage `json:"sources"`
			} `json:"mesh"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	opts := sourceOptions{admin: cfg.Admin.Listen}
	for name, raw := range cfg.Apps.Mesh.Sources {
		var typ struct {
			Source string `json:"source"`
		}
		var src kube.Source
		if err := json.Unmarshal(raw, &typ); err != nil {
			t.Fatal(err)
		}
		if typ.Source != "kubernetes" {
			continue
		}
		if err := json.Unmarshal(raw, &src); err != nil {
			t.Fatal(err)
		}
		if opts.name != "" {
			t.Fatal("more than one kubernetes source")
		}
		opts.name, opts.namespaces, opts.kinds = name, src.Namespaces, src.Kinds
	}
	if opts.name == "" {
		t.Fatal("no kubernetes source in the Caddyfile")
	}
	if len(opts.namespaces) == 0 {
		t.Fatal("the kubernetes source reads every namespace, which rbac.yaml does not grant")
	}
	if len(opts.kinds) == 0 {
		opts.kinds = kube.KindNames()
	}
	return opts
}

type groupResource struct {
	group, resource string
	clusterScoped   bool
}

// sourceKinds are the kinds mesh.sources.kubernetes reads, by their Caddyfile names.
var sourceKinds = map[string][]groupResource{
	"services":        {{"", "services", false}},
	"endpointslices":  {{"discovery.k8s.io", "endpointslices", false}},
	"pods":            {{"", "pods", false}},
	"namespaces":      {{"", "namespaces", true}},
	"meshlets":        {{meshlessv1.GroupName, "meshlets", false}, {meshlessv1.CompatGroupName, "meshlets", false}},
	"gatewayclasses":  {{"gateway.networking.k8s.io", "gatewayclasses", true}},
	"gateways":        {{"gateway.networking.k8s.io", "gateways", false}},
	"httproutes":      {{"gateway.networking.k8s.io", "httproutes", false}},
	"tlsroutes":       {{"gateway.networking.k8s.io", "tlsroutes", false}},
	"referencegrants": {{"gateway.networking.k8s.io", "referencegrants", false}},
	"tlssecrets":      {{"", "secrets", false}},
	"httpfilters":     {{gatewayv1alpha1.GroupName, "httpfilters", false}},
}

// The node agent's hostPath root, which meshed Pods mount their own folder of.
const meshletRoot = "/var/run/caddymesh/meshlet"

// exampleProblems lists the broken references among the example's objects.
func exampleProblems(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	key := func(kind, ns, name string) string { return kind + " " + ns + "/" + name }

	type workload struct {
		kind, ns, name string
		tmpl           corev1.PodTemplateSpec
	}
	var (
		has        = map[string]bool{} // by key
		namespaces = map[string]bool{}
		workloads  []workload
		meshlets   []meshlessv1.Meshlet
		services   []corev1.Service
		classes    []gatewayv1.GatewayClass
		gateways   []gatewayv1.Gateway
		routes     []gatewayv1.HTTPRoute
		bindings   []rbacv1.RoleBinding // ClusterRoleBindings too: the same fields
	)
	for _, obj := range objs {
		has[key(obj.GetKind(), obj.GetNamespace(), obj.GetName())] = true
		switch obj.GetKind() {
		case "Namespace":
			namespaces[obj.GetName()] = true
		case "Deployment":
			var d appsv1.Deployment
			fromUnstructured(t, obj, &d)
			workloads = append(workloads, workload{"Deployment", d.Namespace, d.Name, d.Spec.Template})
		case "DaemonSet":
			var d appsv1.DaemonSet
			fromUnstructured(t, obj, &d)
			workloads = append(workloads, workload{"DaemonSet", d.Namespace, d.Name, d.Spec.Template})
		case "Meshlet":
			var m meshlessv1.Meshlet
			fromUnstructured(t, obj, &m)
			meshlets = append(meshlets, m)
		case "Service":
			var s corev1.Service
			fromUnstructured(t, obj, &s)
			services = append(services, s)
		case "GatewayClass":
			var c gatewayv1.GatewayClass
			fromUnstructured(t, obj, &c)
			classes = append(classes, c)
		case "Gateway":
			var g gatewayv1.Gateway
			fromUnstructured(t, obj, &g)
			gateways = append(gateways, g)
		case "HTTPRoute":
			var r gatewayv1.HTTPRoute
			fromUnstructured(t, obj, &r)
			routes = append(routes, r)
		case "RoleBinding", "ClusterRoleBinding":
			var b rbacv1.RoleBinding
			fromUnstructured(t, obj, &b)
			bindings = append(bindings, b)
		}
	}
	clusterScoped := map[string]bool{"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true, "GatewayClass": true}
	for _, obj := range objs {
		if ns := obj.GetNamespace(); clusterScoped[obj.GetKind()] != (ns == "") {
			bad("%s: namespaced objects must name their namespace, cluster-scoped ones none", describe(obj))
		} else if ns != "" && !namespaces[ns] {
			bad("%s: namespace %s is not in namespace.yaml", describe(obj), ns)
		}
	}
	selects := func(selector, labels map[string]string) bool {
		for k, v := range selector {
			if labels[k] != v {
				return false
			}
		}
		return len(selector) > 0
	}

	for _, w := range workloads {
		spec, where := w.tmpl.Spec, w.kind+" "+w.ns+"/"+w.name
		if sa := spec.ServiceAccountName; sa != "" && !has[key("ServiceAccount", w.ns, sa)] {
			bad("%s: no ServiceAccount %s", where, sa)
		}
		for _, v := range spec.Volumes {
			if v.ConfigMap != nil && !has[key("ConfigMap", w.ns, v.ConfigMap.Name)] {
				bad("%s: no ConfigMap %s", where, v.ConfigMap.Name)
			}
		}
		if m, ok := w.tmpl.Labels[meshlessv1.LabelMeshlet]; ok {
			if !has[key("Meshlet", w.ns, m)] {
				bad("%s: its Pods' label %s names no Meshlet %s", where, meshlessv1.LabelMeshlet, m)
			}
			for _, p := range meshedPodProblems(spec) {
				bad("%s: %s", where, p)
			}
		}
		if w.name == agentSA {
			for _, p := range agentProblems(spec) {
				bad("%s: %s", where, p)
			}
		}
	}

	for _, m := range meshlets {
		where := "Meshlet " + m.Namespace + "/" + m.Name
		if srv := m.Spec.Server; srv != nil {
			versions := map[string]bool{}
			n := 0
			for _, w := range workloads {
				if w.ns != m.Namespace || !selects(srv.Selector, w.tmpl.Labels) {
					continue
				}
				n++
				versions[w.tmpl.Labels[meshlessv1.LabelVersion]] = true
				if w.tmpl.Labels[meshlessv1.LabelMeshlet] != m.Name {
					bad("%s: selects the Pods of %s %s, which are not labelled %s=%s", where, w.kind, w.name, meshlessv1.LabelMeshlet, m.Name)
				}
			}
			if n == 0 {
				bad("%s: its selector %v selects no workload's Pods", where, srv.Selector)
			}
			for _, c := range srv.Canary {
				if !versions[c.Version] {
					bad("%s: canary version %s has no Pods", where, c.Version)
				}
			}
		}
		for _, ref := range m.Spec.Client {
			if !slices.ContainsFunc(meshlets, func(p meshlessv1.Meshlet) bool {
				return p.Namespace == ref.Namespace && p.Name == ref.Meshlet && p.Spec.Server != nil &&
					slices.ContainsFunc(p.Spec.Server.Services, func(s meshlessv1.ServerService) bool { return s.Name == ref.Service })
			}) {
				bad("%s: uses %s, which no Meshlet provides", where, ref.ID())
			}
		}
	}

	for _, s := range services {
		where := "Service " + s.Namespace + "/" + s.Name
		n := 0
		for _, w := range workloads {
			if w.ns != s.Namespace || !selects(s.Spec.Selector, w.tmpl.Labels) {
				continue
			}
			n++
			for _, p := range s.Spec.Ports {
				if p.TargetPort.StrVal != "" && !slices.ContainsFunc(w.tmpl.Spec.Containers, func(c corev1.Container) bool {
					return slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.StrVal })
				}) {
					bad("%s: target port %q is not a port of %s %s", where, p.TargetPort.StrVal, w.kind, w.name)
				}
			}
		}
		if n == 0 {
			bad("%s: its selector %v selects no workload's Pods", where, s.Spec.Selector)
		}
	}

	for _, c := range classes {
		if c.Spec.ControllerName != "caddymesh.io/gateway" {
			bad("GatewayClass %s: controller %s, want caddymesh.io/gateway", c.Name, c.Spec.ControllerName)
		}
	}
	for _, g := range gateways {
		if !has[key("GatewayClass", "", string(g.Spec.GatewayClassName))] {
			bad("Gateway %s/%s: no GatewayClass %s", g.Namespace, g.Name, g.Spec.GatewayClassName)
		}
	}
	for _, r := range routes {
		where := "HTTPRoute " + r.Namespace + "/" + r.Name
		for _, ref := range r.Spec.ParentRefs {
			ns := r.Namespace
			if ref.Namespace != nil {
				ns = string(*ref.Namespace)
			}
			i := slices.IndexFunc(gateways, func(g gatewayv1.Gateway) bool { return g.Namespace == ns && g.Name == string(ref.Name) })
			if i < 0 {
				bad("%s: no parent Gateway %s/%s", where, ns, ref.Name)
				continue
			}
			if ref.SectionName != nil && !slices.ContainsFunc(gateways[i].Spec.Listeners, func(l gatewayv1.Listener) bool { return l.Name == *ref.SectionName }) {
				bad("%s: Gateway %s/%s has no listener %s", where, ns, ref.Name, *ref.SectionName)
			}
		}
		for _, rule := range r.Spec.Rules {
			for _, b := range rule.BackendRefs {
				ref := b.BackendObjectReference
				if (ref.Kind != nil && *ref.Kind != "Service") || (ref.Group != nil && *ref.Group != "") {
					continue
				}
				ns := r.Namespace
				if ref.Namespace != nil {
					ns = string(*ref.Namespace)
				}
				i := slices.IndexFunc(services, func(s corev1.Service) bool { return s.Namespace == ns && s.Name == string(ref.Name) })
				switch {
				case i < 0:
					bad("%s: no backend Service %s/%s", where, ns, ref.Name)
				case ref.Port == nil || !slices.ContainsFunc(services[i].Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == *ref.Port }):
					bad("%s: Service %s/%s has no port %v", where, ns, ref.Name, ref.Port)
				}
			}
		}
	}

	for _, b := range bindings {
		where := "binding " + b.Name
		roleNS := b.Namespace
		if b.RoleRef.Kind == "ClusterRole" {
			roleNS = ""
		}
		if !has[key(b.RoleRef.Kind, roleNS, b.RoleRef.Name)] {
			bad("%s: no %s %s", where, b.RoleRef.Kind, b.RoleRef.Name)
		}
		for _, s := range b.Subjects {
			if s.Kind == "ServiceAccount" && !has[key("ServiceAccount", s.Namespace, s.Name)] {
				bad("%s: no ServiceAccount %s/%s", where, s.Namespace, s.Name)
			}
		}
	}
	return problems
}

// meshedPodProblems checks what a Pod of a Meshlet needs: its own folder of the agent's
// root at /meshlet, named by the downward API, and the agent's group for the sockets.
func meshedPodProblems(spec corev1.PodSpec) []string {
	var problems []string
	vol := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.HostPath != nil && v.HostPath.Path == meshletRoot })
	if vol < 0 {
		return []string{"no hostPath volume " + meshletRoot}
	}
	if sc := spec.SecurityContext; sc == nil || (ptrValue(sc.RunAsGroup) != 1000 && !slices.Contains(sc.SupplementalGroups, 1000)) {
		problems = append(problems, "Pods do not run with GID 1000, the agent's group")
	}
	for _, c := range spec.Containers {
		mounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
			return m.Name == spec.Volumes[vol].Name && m.MountPath == "/meshlet" && m.SubPathExpr == "$(POD_NAMESPACE)/$(POD_NAME)"
		})
		if !mounted {
			problems = append(problems, fmt.Sprintf("container %s does not mount $(POD_NAMESPACE)/$(POD_NAME) of %s at /meshlet", c.Name, meshletRoot))
		}
		for env, field := range map[string]string{"POD_NAMESPACE": "metadata.namespace", "POD_NAME": "metadata.name"} {
			if !hasFieldEnv(c, env, field) {
				problems = append(problems, fmt.Sprintf("container %s: no %s from %s", c.Name, env, field))
			}
		}
	}
	return problems
}

// agentProblems checks the node agent's contract: the hostPath root it owns, its node's
// name, the tunnel port and its UID and GID.
func agentProblems(spec corev1.PodSpec) []string {
	var problems []string
	if !slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool {
		return v.HostPath != nil && v.HostPath.Path == meshletRoot && ptrValue(v.HostPath.Type) == corev1.HostPathDirectoryOrCreate
	}) {
		problems = append(problems, "no hostPath volume "+meshletRoot+" of type DirectoryOrCreate")
	}
	i := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == "agent" })
	if i < 0 {
		return append(problems, "no container named agent")
	}
	c := spec.Containers[i]
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == meshletRoot }) {
		problems = append(problems, "the agent does not mount "+meshletRoot)
	}
	if !hasFieldEnv(c, "NODE_NAME", "spec.nodeName") {
		problems = append(problems, "no NODE_NAME from spec.nodeName")
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool {
		return p.Name == "hbone" && p.ContainerPort == 15008 && p.HostPort == 15008
	}) {
		problems = append(problems, "no port hbone on 15008 with hostPort 15008")
	}
	var uid, gid int64
	if sc := spec.SecurityContext; sc != nil {
		uid, gid = ptrValue(sc.RunAsUser), ptrValue(sc.RunAsGroup)
	}
	if sc := c.SecurityContext; sc != nil {
		uid, gid = cmp.Or(ptrValue(sc.RunAsUser), uid), cmp.Or(ptrValue(sc.RunAsGroup), gid)
	}
	if uid != 1000 || gid != 1000 {
		problems = append(problems, fmt.Sprintf("the agent runs as %d:%d, want 1000:1000", uid, gid))
	}
	return problems
}

func hasFieldEnv(c corev1.Container, name, field string) bool {
	return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == name && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == field
	})
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func clusterScopedResource(resource string) bool {
	for _, grs := range sourceKinds {
		for _, gr := range grs {
			if gr.resource == resource {
				return gr.clusterScoped
			}
		}
	}
	return false
}
