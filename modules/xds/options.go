package xds

import "go.uber.org/zap"

// ClientOption changes how Connect sets up an AdsClient. Options are functions so that new
// ones can be added without breaking callers.
type ClientOption func(*clientOptions)

type clientOptions struct {
	autoSubscribe bool
	logger        *zap.Logger
	waitFirst     bool
	initial       []subscribeCmd
}

// WithAutoSubscribe makes the client follow references, as Envoy does: the route
// configurations named by accepted listeners' HTTP connection managers (RDS) and the
// endpoints of accepted EDS clusters (their EDS service name, or the cluster name) are
// subscribed automatically, and unsubscribed when no accepted resource refers to them any
// more. A rejected listener or cluster keeps the references of its last good version.
// Off by default in the library, so that a program subscribes to exactly what it names;
// the mesh.sources.xds module turns it on.
func WithAutoSubscribe(on bool) ClientOption {
	return func(o *clientOptions) { o.autoSubscribe = on }
}

// WithLogger sets the logger for stream changes, NACKs and protocol anomalies. The default
// logs nothing, as befits a library.
func WithLogger(l *zap.Logger) ClientOption {
	return func(o *clientOptions) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithSubscription subscribes before the first stream is opened, exactly as Subscribe
// would right after Connect. It exists for WithWaitForInitialResponse, which needs
// something to be asked for before Connect returns; an invalid name makes Connect fail.
func WithSubscription(typeURL TypeURL, names ...string) ClientOption {
	return func(o *clientOptions) {
		o.initial = append(o.initial, subscribeCmd{typeURL: typeURL, names: names, subscribe: true})
	}
}

// WithWaitForInitialResponse makes Connect wait until the server has answered the
// subscriptions given with WithSubscription, up to AdsConfig.InitialResponseTimeout. A
// program that cannot start without its configuration learns at Connect that the address
// or the credentials are wrong, instead of through an EventDisconnected later. An auth
// failure ends the wait at once; connection failures are retried until the timeout. When
// Connect fails this way it closes the client and returns the *Error.
func WithWaitForInitialResponse(on bool) ClientOption {
	return func(o *clientOptions) { o.waitFirst = on }
}
