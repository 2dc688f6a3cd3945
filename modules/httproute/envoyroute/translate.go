package envoyroute

import (
	"errors"
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// Input is what a translation reads: the route configuration and the clusters it may
// name. Neither is changed.
type Input struct {
	RouteConfiguration *routev3.RouteConfiguration
	// Clusters by cluster name. A cluster that no route names is left out of the table; a
	// name that is missing here still translates (see translateCluster).
	Clusters map[string]*clusterv3.Cluster
}

// errNoRouteConfiguration is the error for an Input without a route configuration.
var errNoRouteConfiguration = errors.New("no route configuration")

// Translate returns the table for in, plus one error per virtual host, route, domain or
// cluster that could not be translated. Those are left out and the rest is served: a
// route's error leaves the route out; a virtual host's leaves out the virtual host; a
// domain's leaves out the domain; a cluster's marks the backends naming it Invalid and
// drops the mirrors to it. The errors name what they are about, as in
// `virtual host "x" route 3: ...`.
//
// The table is nil, with one error, when there is nothing to serve faithfully: a nil
// route configuration, or one whose own fields (header mutations every virtual host
// would apply, for example) are invalid or not supported.
func Translate(in Input) (*table.Table, []error) {
	rc := in.RouteConfiguration
	if rc == nil {
		return nil, []error{errNoRouteConfiguration}
	}
	vhosts, err := decode(rc)
	if err != nil {
		return nil, []error{fmt.Errorf("route configuration %q: %w", rc.GetName(), err)}
	}
	cfg, err := newConfigScope(rc)
	if err != nil {
		return nil, []error{fmt.Errorf("route configuration %q: %w", rc.GetName(), err)}
	}
	t := &translator{
		in:       in,
		cfg:      cfg,
		tbl:      &table.Table{Name: rc.GetName()},
		domains:  make(domainOwners),
		names:    make(map[string]bool, len(vhosts)),
		clusters: make(map[string]*clusterState),
	}
	for i := range vhosts {
		t.virtualHost(&vhosts[i])
	}
	return t.tbl, t.errs
}

// translator holds one translation's state.
type translator struct {
	in  Input
	cfg *configScope
	tbl *table.Table
	// errs are reported in the order found: by virtual host, then by route.
	errs    []error
	domains domainOwners
	// names are the virtual host names already used.
	names map[string]bool
	// clusters are every cluster looked up, whether or not a committed route names it.
	clusters map[string]*clusterState
}

// clusterState is one cluster's translation, kept for the whole translation so that a
// cluster is translated once and its hash key is the same for every route.
type clusterState struct {
	cluster *table.Cluster
	err     error
	// committed is set once an accepted route names the cluster: it is then in the
	// table, or its error has been reported.
	committed bool
	// hashBy names the route that set cluster.HashOn; "" while no route has.
	hashBy string
}

// cluster returns the state of a cluster, translating it the first time.
func (t *translator) cluster(name string) *clusterState {
	st, ok := t.clusters[name]
	if !ok {
		st = &clusterState{}
		st.cluster, st.err = translateCluster(name, t.in.Clusters[name])
		t.clusters[name] = st
	}
	return st
}

// commit records what an accepted route needs from the clusters: its hash key on the
// clusters that hash, then each cluster it names in the table (or, for a cluster that
// cannot be translated, its error, once). It fails, changing nothing, when the route asks
// a cluster to hash on another key than an earlier route set.
func (t *translator) commit(res *routeResult) error {
	if res.hashSet {
		for _, name := range res.backends {
			st := t.cluster(name)
			if st.cluster == nil || st.cluster.LB != table.LBHash || st.hashBy == "" || st.cluster.HashOn == res.hashKey {
				continue
			}
			return fmt.Errorf("cluster %q already hashes on %s (set by route %q); the table has one hash key per cluster",
				name, describeHashKey(st.cluster.HashOn), st.hashBy)
		}
		for _, name := range res.backends {
			if st := t.cluster(name); st.cluster != nil && st.cluster.LB == table.LBHash && st.hashBy == "" {
				st.cluster.HashOn, st.hashBy = res.hashKey, res.route.Name
			}
		}
	}
	for _, names := range [][]string{res.backends, res.mirrors} {
		for _, name := range names {
			t.commitCluster(name)
		}
	}
	return nil
}

// commitCluster puts a cluster an accepted route names into the table, or reports why it
// cannot be, the first time.
func (t *translator) commitCluster(name string) {
	st := t.cluster(name)
	if st.committed {
		return
	}
	st.committed = true
	if st.err != nil {
		t.errs = append(t.errs, fmt.Errorf("cluster %q: %w", name, st.err))
		return
	}
	if t.tbl.Clusters == nil {
		t.tbl.Clusters = make(map[string]*table.Cluster)
	}
	t.tbl.Clusters[name] = st.cluster
}

// describeHashKey names a hash key in errors.
func describeHashKey(key string) string {
	if key == "" {
		return "the client address"
	}
	return fmt.Sprintf("header %q", key)
}
