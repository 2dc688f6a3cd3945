package xds

import "github.com/caddymesh/caddymesh/modules/xds/resource"

// watchState tracks a name subscribed by name on its way to does-not-exist (gRFC A57's
// watch states): only a name the server was asked for on a live stream can time out.
type watchState uint8

const (
	// watchPending: subscribed, not yet asked for on the current stream.
	watchPending watchState = iota
	// watchRequested: asked for; the does-not-exist timer runs.
	watchRequested
	// watchSeen: the server sent it (accepted or rejected); no timer.
	watchSeen
	// watchMissing: reported as not existing; no timer until it is subscribed again.
	watchMissing
)

// watch is the does-not-exist state of one name. seq tells a timer entry that belongs to
// this watch from a stale one left by an earlier request.
type watch struct {
	state watchState
	seq   uint64
}

// held is a resource the client accepted: its view and, for delta, the version the
// server gave it, which initial_resource_versions reports after a reconnect.
type held struct {
	res     resource.Resource
	version string
}

// typeState is everything the client knows about one resource type. The loop goroutine
// owns it; the held map is also read by State, so the loop writes it only under the
// client's stateMu.
type typeState struct {
	url TypeURL
	// fullState is set for LDS and CDS, whose state-of-the-world responses carry every
	// resource, so that a resource missing from one has been removed.
	fullState bool

	sub     subscription
	watches map[string]*watch

	// version is the last accepted version_info (state of the world), or the last
	// system_version_info (delta). It survives reconnects, as the protocol asks.
	version string
	// nonce is the last nonce received on the current stream; "" on a new stream.
	nonce string

	// held is the last good state (guarded by AdsClient.stateMu for writes).
	held map[string]held

	// deps maps each accepted resource to the names it makes us subscribe to
	// (WithAutoSubscribe): route configurations of a listener, endpoints of a cluster.
	deps map[string][]string

	nack nackState
}

func newTypeState(url TypeURL) *typeState {
	return &typeState{
		url:       url,
		fullState: url == ListenerType || url == ClusterType,
		watches:   make(map[string]*watch),
		held:      make(map[string]held),
	}
}

// isGlob reports whether name is an xdstp glob collection, which is never a resource
// and so has no does-not-exist timer.
func isGlob(name string) bool {
	if len(name) < len(xdstpPrefix) || name[:len(xdstpPrefix)] != xdstpPrefix {
		return false
	}
	n, err := ParseResourceName(name)
	return err == nil && n.IsGlob()
}
