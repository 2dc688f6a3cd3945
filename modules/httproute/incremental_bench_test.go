package httproute

// Benchmarks of the incremental compile: what a change of one route among 10,000 costs
// the router once the translation keeps unchanged routes as the same objects
// (gatewayapi.Cache), next to compiling everything.
//
//	go test -run '^$' -bench 'Incremental' -benchmem ./modules/httproute

import (
	"slices"
	"testing"

	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// BenchmarkIncremental measures, on 10,000 HTTPRoutes across 1,000 host names:
//
//   - compile: compiling the whole table with nothing to take over (the proxies are
//     kept warm, as a recompile that keeps the clusters has them);
//   - recompile-one-change: compiling the table after one route changed, from a
//     translation with a cache, taking over everything else;
//   - recompile-equal-objects: compiling a translation made without a cache (every route
//     a new object, one changed), which finds the unchanged routes by name and content;
//   - change: everything mesh_router does for one change: the cached translation, the
//     comparison with the table served, the compile, and the swap.
func BenchmarkIncremental(b *testing.B) {
	objs := newBenchObjects(benchRoutes, benchHosts, benchServices, "127.0.0.1:8080")

	b.Run("compile", func(b *testing.B) {
		warm := benchCompiler(b, objs.slices)
		t := benchTable(b, objs.input())
		held, errs := warm.compile(t) // holds the proxies
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		defer held.release()
		b.ReportAllocs()
		for b.Loop() {
			c := &compiler{ctx: warm.ctx, logger: warm.logger, proxies: warm.proxies, mirrors: warm.mirrors, units: newUnits()}
			compiled, errs := c.compile(t)
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			compiled.release()
		}
	})

	b.Run("recompile-one-change", func(b *testing.B) {
		c := benchCompiler(b, objs.slices)
		var rt Router
		defer rt.swap(nil)
		in := objs.input()
		in.HTTPRoutes = slices.Clone(objs.routes)
		in.Cache = gatewayapi.NewCache()
		compiled, _ := c.compile(benchTable(b, in))
		rt.swap(compiled)
		b.ReportAllocs()
		b.ResetTimer()
		for n := range b.N {
			b.StopTimer()
			i := benchChangedRoute(n + 1)
			in.HTTPRoutes[i] = benchRoute(i, benchHosts, benchServices, benchPath(i, n+1))
			t := benchTable(b, in)
			b.StartTimer()
			compiled, errs := c.compile(t)
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			rt.swap(compiled)
		}
	})

	b.Run("recompile-equal-objects", func(b *testing.B) {
		c := benchCompiler(b, objs.slices)
		var rt Router
		defer rt.swap(nil)
		in := objs.input()
		in.HTTPRoutes = slices.Clone(objs.routes)
		compiled, _ := c.compile(benchTable(b, in))
		rt.swap(compiled)
		b.ReportAllocs()
		b.ResetTimer()
		for n := range b.N {
			b.StopTimer()
			i := benchChangedRoute(n + 1)
			in.HTTPRoutes[i] = benchRoute(i, benchHosts, benchServices, benchPath(i, n+1))
			t := benchTable(b, in)
			b.StartTimer()
			compiled, errs := c.compile(t)
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			rt.swap(compiled)
		}
	})

	b.Run("change", func(b *testing.B) {
		c := benchCompiler(b, objs.slices)
		var rt Router
		defer rt.swap(nil)
		in := objs.input()
		in.HTTPRoutes = slices.Clone(objs.routes)
		in.Cache = gatewayapi.NewCache()
		prev := benchTable(b, in)
		compiled, _ := c.compile(prev)
		rt.swap(compiled)
		b.ReportAllocs()
		b.ResetTimer()
		for n := range b.N {
			b.StopTimer()
			i := benchChangedRoute(n + 1)
			in.HTTPRoutes[i] = benchRoute(i, benchHosts, benchServices, benchPath(i, n+1))
			b.StartTimer()
			t := benchTable(b, in)
			if tablesEqual(prev, t) {
				b.Fatal("a changed route gives an equal table")
			}
			compiled, errs := c.compile(t)
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			rt.swap(compiled)
			prev = t
		}
	})
}

// BenchmarkTablesEqual compares two tables of 10,000 routes that differ in one route:
// from two cached translations (shared objects), and from two translations without a
// cache (every object new, so every route is compared by content).
func BenchmarkTablesEqual(b *testing.B) {
	objs := newBenchObjects(benchRoutes, benchHosts, benchServices, "127.0.0.1:8080")
	pair := func(cache bool) (*table.Table, *table.Table) {
		in := objs.input()
		in.HTTPRoutes = slices.Clone(objs.routes)
		if cache {
			in.Cache = gatewayapi.NewCache()
		}
		t1 := benchTable(b, in)
		i := benchChangedRoute(1)
		in.HTTPRoutes[i] = benchRoute(i, benchHosts, benchServices, benchPath(i, 1))
		return t1, benchTable(b, in)
	}
	for _, cache := range []bool{true, false} {
		name := "cached"
		if !cache {
			name = "uncached"
		}
		b.Run(name, func(b *testing.B) {
			t1, t2 := pair(cache)
			b.ReportAllocs()
			for b.Loop() {
				if tablesEqual(t1, t2) {
					b.Fatal("tables that differ in a route are equal")
				}
			}
		})
	}
}
