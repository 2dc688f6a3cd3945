package mesh

import "github.com/caddymesh/caddymesh/modules/collection"

// Source is implemented by the guest modules in namespace mesh.sources. A source turns
// outside state (files, a Kubernetes API server, an xDS stream) into collections.
//
// Sources keep their long-lived state (watchers, informers, streams) in a caddy.UsagePool
// keyed by their configuration, so that a config reload which does not change a source
// hands the new app the same collections, neither re-reading nor reconnecting.
type Source interface {
	// Publish registers the source's collections, one per kind, with Publish. It is called
	// once, after the source is provisioned, with the name the source has in the config.
	Publish(p *Publisher) error
}

// Publisher is what a source publishes through: the app's registry, scoped to the source's
// name.
type Publisher struct {
	source string
	reg    *Registry
}

// Source returns the source's name in the config, as used in "<source>/<kind>".
func (p *Publisher) Source() string { return p.source }

// PublishCollection adds c as "<source>/<kind>".
func PublishCollection[T any](p *Publisher, kind string, c collection.Collection[T]) error {
	return Publish(p.reg, p.source, kind, c)
}
