package gatewayapi

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
	gatewayv1alpha1 "github.com/caddymesh/caddymesh/modules/mesh/apis/gateway/v1alpha1"
)

// TestCacheEquivalent applies random changes to each golden input and to the scale input
// (adding, changing, copying and deleting routes, Services, ReferenceGrants, Gateways,
// classes, Namespaces, Secrets and HTTPFilters) and checks after every change that the
// translation with a Cache equals the one without.
func TestCacheEquivalent(t *testing.T) {
	cases := map[string]Input{"scale": scaleInput(300, 20)}
	for _, file := range goldenCases(t) {
		cases[strings.TrimSuffix(filepath.Base(file), ".yaml")] = loadInput(t, file)
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			for seed := range uint64(4) {
				rng := rand.New(rand.NewPCG(seed, 7))
				m := newMutator(rng, in)
				cache := NewCache()
				if seed == 3 {
					cache = &Cache{} // the zero Cache works too
				}
				for step := range 40 {
					cur := m.input()
					want := Translate(cur)
					cur.Cache = cache
					got := Translate(cur)
					if !reflect.DeepEqual(want, got) {
						t.Fatalf("seed %d step %d, after %s: the cached translation differs:\n%s",
							seed, step, m.last, lineDiff(string(marshalResult(t, want)), string(marshalResult(t, got))))
					}
					// What the cache holds is bounded by what is there.
					if len(cache.routes) > len(m.routes) || len(cache.byName) > len(m.routes) {
						t.Fatalf("seed %d step %d: the cache holds %d routes (%d names) for %d present",
							seed, step, len(cache.routes), len(cache.byName), len(m.routes))
					}
					m.mutate()
				}
			}
		})
	}
}

// mutator changes an Input the way collections do: a changed object is a new pointer,
// an unchanged one keeps its pointer, and the order of every list is arbitrary.
type mutator struct {
	rng  *rand.Rand
	base Input
	// The current objects of every kind, and those deleted (to add back).
	classes, deletedClasses   []*gatewayv1.GatewayClass
	gateways, deletedGateways []*gatewayv1.Gateway
	routes, deletedRoutes     []*gatewayv1.HTTPRoute
	services, deletedServices []*corev1.Service
	grants, deletedGrants     []*gatewayv1.ReferenceGrant
	namespaces, deletedNS     []*corev1.Namespace
	secrets, deletedSecrets   []*corev1.Secret
	filters, deletedFilters   []*gatewayv1alpha1.HTTPFilter
	version                   int
	clock                     time.Duration
	last                      string
}

func newMutator(rng *rand.Rand, in Input) *mutator {
	return &mutator{
		rng: rng, base: in,
		classes: slices.Clone(in.GatewayClasses), gateways: slices.Clone(in.Gateways),
		routes: slices.Clone(in.HTTPRoutes), services: slices.Clone(in.Services),
		grants: slices.Clone(in.ReferenceGrants), namespaces: slices.Clone(in.Namespaces),
		secrets: slices.Clone(in.Secrets), filters: slices.Clone(in.HTTPFilters),
		last: "nothing",
	}
}

// input is the current objects, each list shuffled, at a clock that moves now and then.
func (m *mutator) input() Input {
	in := m.base
	if m.rng.IntN(3) == 0 {
		m.clock += time.Second
	}
	in.Now = metav1.NewTime(in.Now.Add(m.clock))
	in.GatewayClasses = shuffle(m.rng, m.classes)
	in.Gateways = shuffle(m.rng, m.gateways)
	in.HTTPRoutes = shuffle(m.rng, m.routes)
	in.Services = shuffle(m.rng, m.services)
	in.ReferenceGrants = shuffle(m.rng, m.grants)
	in.Namespaces = shuffle(m.rng, m.namespaces)
	in.Secrets = shuffle(m.rng, m.secrets)
	in.HTTPFilters = shuffle(m.rng, m.filters)
	return in
}

// mutate makes one to three random changes, routes the most often.
func (m *mutator) mutate() {
	var done []string
	for range 1 + m.rng.IntN(3) {
		m.version++
		rv := fmt.Sprintf("v%d", m.version)
		var what string
		switch k := m.rng.IntN(20); {
		case k < 8:
			what = change(m, &m.routes, &m.deletedRoutes, "HTTPRoute", func(r *gatewayv1.HTTPRoute) {
				r.ResourceVersion = rv
				changeRoute(m.rng, r)
			})
		case k < 11:
			what = change(m, &m.services, &m.deletedServices, "Service", func(s *corev1.Service) {
				s.ResourceVersion = rv
				changeService(m.rng, s)
			})
		case k < 13:
			what = change(m, &m.grants, &m.deletedGrants, "ReferenceGrant", func(g *gatewayv1.ReferenceGrant) {
				g.ResourceVersion = rv
				if len(g.Spec.To) > 0 && m.rng.IntN(2) == 0 {
					g.Spec.To[0].Name = nil // open every object of the kind
				}
			})
		case k < 15:
			what = change(m, &m.gateways, &m.deletedGateways, "Gateway", func(g *gatewayv1.Gateway) {
				g.ResourceVersion = rv
				g.Generation++
				changeGateway(m.rng, g)
			})
		case k < 16:
			what = change(m, &m.classes, &m.deletedClasses, "GatewayClass", func(c *gatewayv1.GatewayClass) {
				c.ResourceVersion = rv
			})
		case k < 17:
			what = change(m, &m.namespaces, &m.deletedNS, "Namespace", func(ns *corev1.Namespace) {
				ns.ResourceVersion = rv
				if ns.Labels == nil {
					ns.Labels = map[string]string{}
				}
				ns.Labels["flip"] = fmt.Sprint(m.rng.IntN(2))
				for k := range ns.Labels {
					if m.rng.IntN(3) == 0 {
						delete(ns.Labels, k)
					}
				}
			})
		case k < 18:
			what = change(m, &m.secrets, &m.deletedSecrets, "Secret", func(s *corev1.Secret) { s.ResourceVersion = rv })
		default:
			what = change(m, &m.filters, &m.deletedFilters, "HTTPFilter", func(f *gatewayv1alpha1.HTTPFilter) {
				f.ResourceVersion = rv
				if len(f.Spec.Handlers) > 0 && m.rng.IntN(2) == 0 {
					f.Spec.Handlers = f.Spec.Handlers[:len(f.Spec.Handlers)-1]
				}
			})
		}
		done = append(done, what)
	}
	m.last = strings.Join(done, ", ")
}

// change deletes an object, adds a deleted one back, replaces one by a copy (unchanged,
// or changed by edit) or, rarely, by a new object with another name.
func change[T interface {
	*E
	DeepCopy() *E
	GetNamespace() string
	GetName() string
	SetName(string)
}, E any](m *mutator, live, deleted *[]T, kind string, edit func(T)) string {
	if len(*live) == 0 && len(*deleted) == 0 {
		return "nothing (no " + kind + ")"
	}
	op := m.rng.IntN(10)
	if len(*live) == 0 {
		op = 0
	}
	switch {
	case op == 0 && len(*deleted) > 0:
		i := m.rng.IntN(len(*deleted))
		o := T((*deleted)[i].DeepCopy())
		*deleted = slices.Delete(*deleted, i, i+1)
		if slices.ContainsFunc(*live, func(x T) bool { return objKey(x) == objKey(o) }) {
			return "nothing (" + kind + " " + objKey(o) + " exists again)" // keys are unique
		}
		*live = append(*live, o)
		return "adding back " + kind + " " + objKey(o)
	case op <= 1:
		i := m.rng.IntN(len(*live))
		o := (*live)[i]
		*live = slices.Delete(*live, i, i+1)
		*deleted = append(*deleted, o)
		return "deleting " + kind + " " + objKey(o)
	case op == 2:
		i := m.rng.IntN(len(*live))
		o := T((*live)[i].DeepCopy())
		o.SetName(o.GetName() + "-copy")
		if slices.ContainsFunc(*live, func(x T) bool { return objKey(x) == objKey(o) }) {
			return "nothing (copy exists)"
		}
		*live = append(*live, o)
		return "adding " + kind + " " + objKey(o)
	case op == 3:
		i := m.rng.IntN(len(*live))
		(*live)[i] = T((*live)[i].DeepCopy())
		return "copying " + kind + " " + objKey((*live)[i])
	default:
		i := m.rng.IntN(len(*live))
		o := T((*live)[i].DeepCopy())
		edit(o)
		(*live)[i] = o
		return "changing " + kind + " " + objKey(o)
	}
}

func objKey[T interface {
	GetNamespace() string
	GetName() string
}](o T) string {
	return key(o.GetNamespace(), o.GetName())
}

// changeRoute changes one thing of a route: a path, a hostname, a backend, a parentRef,
// a rule, or its creation time.
func changeRoute(rng *rand.Rand, r *gatewayv1.HTTPRoute) {
	switch rng.IntN(7) {
	case 0:
		for i := range r.Spec.Rules {
			for j := range r.Spec.Rules[i].Matches {
				if p := r.Spec.Rules[i].Matches[j].Path; p != nil && p.Value != nil {
					p.Value = ptr(*p.Value + "x")
					return
				}
			}
		}
		r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{
			Path: &gatewayv1.HTTPPathMatch{Type: ptr(gatewayv1.PathMatchExact), Value: ptr("/added")}}}})
	case 1:
		if len(r.Spec.Hostnames) > 0 && rng.IntN(2) == 0 {
			r.Spec.Hostnames = r.Spec.Hostnames[1:]
		} else {
			r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(fmt.Sprintf("h%d.example.com", rng.IntN(3))))
		}
	case 2:
		i := slices.IndexFunc(r.Spec.Rules, func(rule gatewayv1.HTTPRouteRule) bool { return len(rule.BackendRefs) > 0 })
		if i < 0 {
			return
		}
		b := &r.Spec.Rules[i].BackendRefs[0].BackendObjectReference
		if b.Port != nil && rng.IntN(2) == 0 {
			b.Port = ptr(*b.Port + 1)
		} else {
			b.Name += "-copy"
		}
	case 3:
		for i := range r.Spec.ParentRefs {
			r.Spec.ParentRefs[i].SectionName = nil
		}
	case 4:
		if len(r.Spec.Rules) > 1 {
			r.Spec.Rules = r.Spec.Rules[1:]
		}
	case 5:
		r.CreationTimestamp.Time = r.CreationTimestamp.Add(-1e9 * 3600)
	default:
		r.Generation++
	}
}

func changeService(rng *rand.Rand, s *corev1.Service) {
	if len(s.Spec.Ports) > 0 && rng.IntN(2) == 0 {
		s.Spec.Ports[0].Port++
		return
	}
	h2c := appProtocolH2C
	for i := range s.Spec.Ports {
		s.Spec.Ports[i].AppProtocol = &h2c
	}
}

func changeGateway(rng *rand.Rand, g *gatewayv1.Gateway) {
	if len(g.Spec.Listeners) == 0 {
		return
	}
	l := &g.Spec.Listeners[rng.IntN(len(g.Spec.Listeners))]
	switch rng.IntN(4) {
	case 0:
		if l.Hostname != nil {
			l.Hostname = nil
		} else {
			l.Hostname = ptr(gatewayv1.Hostname("*.example.com"))
		}
	case 1:
		all := gatewayv1.NamespacesFromAll
		l.AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: &all}}
	case 2:
		l.Port++
	default:
		g.Spec.Listeners = append(g.Spec.Listeners, gatewayv1.Listener{
			Name: gatewayv1.SectionName(fmt.Sprintf("extra-%d", rng.IntN(100))), Port: 8000, Protocol: gatewayv1.HTTPProtocolType})
	}
}

// TestCacheReusesPointers checks what a consumer relies on: after one rule of a route
// changes, the table routes of the other rules (its own other rule included), the
// clusters, and the virtual hosts that do not serve the route are the same objects as
// before; after no change (or none that shows in the table), the table is.
func TestCacheReusesPointers(t *testing.T) {
	in := scaleInput(2000, 200)
	cache := NewCache()
	in.Cache = cache
	before := Translate(in).Gateways[0].Ports[0].Table
	if again := Translate(in).Gateways[0].Ports[0].Table; again != before {
		t.Fatal("an unchanged input gives a new table")
	}

	// route-5 serves host-5.example.com; change its path.
	i := slices.IndexFunc(in.HTTPRoutes, func(r *gatewayv1.HTTPRoute) bool { return r.Name == "route-5" })
	changed := in.HTTPRoutes[i].DeepCopy()
	changed.ResourceVersion = "2"
	changed.Spec.Rules[0].Matches[0].Path.Value = ptr("/moved")
	in.HTTPRoutes = slices.Clone(in.HTTPRoutes)
	in.HTTPRoutes[i] = changed
	after := Translate(in).Gateways[0].Ports[0].Table
	if after == before {
		t.Fatal("a changed route gives the same table")
	}

	oldRoutes := map[string]*table.Route{}
	oldHosts := map[string]*table.VirtualHost{}
	for _, vh := range before.VirtualHosts {
		oldHosts[vh.Name] = vh
		for _, r := range vh.Routes {
			oldRoutes[r.Name] = r
		}
	}
	for _, vh := range after.VirtualHosts {
		if (vh != oldHosts[vh.Name]) != (vh.Name == "host-5.example.com") {
			t.Errorf("virtual host %s: reused %v", vh.Name, vh == oldHosts[vh.Name])
		}
		for _, r := range vh.Routes {
			if (r != oldRoutes[r.Name]) != strings.HasPrefix(r.Name, "httproute ns-5/route-5 rule 0 ") {
				t.Errorf("route %s: reused %v", r.Name, r == oldRoutes[r.Name])
			}
		}
	}
	for name, c := range after.Clusters {
		if c != before.Clusters[name] {
			t.Errorf("cluster %s is a new object", name)
		}
	}
	if b, _ := json.Marshal(after); !strings.Contains(string(b), `"/moved"`) {
		t.Error("the changed path is not in the table")
	}

	// A Service changes in a way its cluster does not show: the routes to it are
	// compiled again, to equal table routes and clusters, so the table is the same.
	in.Services = slices.Clone(in.Services)
	svc := in.Services[3].DeepCopy()
	svc.Labels = map[string]string{"changed": "yes"}
	in.Services[3] = svc
	if again := Translate(in).Gateways[0].Ports[0].Table; again != after {
		t.Error("a change to a Service that changes no cluster gives a new table")
	}
}

// BenchmarkTranslateOneChange translates 10,000 HTTPRoutes with a Cache, one route
// changed each time: what a gateway pays for an edit. The clock is fixed, as in the
// goldens, so the statuses of unchanged routes are reused as they are.
func BenchmarkTranslateOneChange(b *testing.B) { benchOneChange(b, false) }

// BenchmarkTranslateOneChangeClock is BenchmarkTranslateOneChange with the clock moving
// on every translation, as a running gateway's does: every status is stamped anew.
func BenchmarkTranslateOneChangeClock(b *testing.B) { benchOneChange(b, true) }

func benchOneChange(b *testing.B, clock bool) {
	in := scaleInput(10_000, 1_000)
	in.HTTPRoutes = slices.Clone(in.HTTPRoutes)
	in.Cache = NewCache()
	Translate(in)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		i := (n * 7919) % 10_000
		r := in.HTTPRoutes[i].DeepCopy()
		r.ResourceVersion = fmt.Sprint(n)
		r.Spec.Rules[0].Matches[0].Path.Value = ptr(fmt.Sprintf("/moved/%d", n))
		in.HTTPRoutes[i] = r
		if clock {
			in.Now = metav1.NewTime(in.Now.Add(time.Millisecond))
		}
		Translate(in)
	}
}

// BenchmarkTranslateNoChange translates 10,000 unchanged HTTPRoutes with a Cache: the
// floor of the cached translation (a change of an input that no route uses costs this).
func BenchmarkTranslateNoChange(b *testing.B) {
	in := scaleInput(10_000, 1_000)
	in.Cache = NewCache()
	Translate(in)
	b.ReportAllocs()
	for b.Loop() {
		Translate(in)
	}
}
