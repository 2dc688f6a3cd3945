// Package collection is caddymesh's dynamic data core: typed, keyed, watchable sets of
// objects, and collections derived from them.
//
// A source (files, a Kubernetes API server, an xDS stream, your own code) feeds a [Static]
// collection. Consumers read it with Get and List, or Watch it, and build derived
// collections with [Map], [FlatMap], [Filter], [Join], [Merge], [Aggregate] and [Reduce], or
// secondary lookups with [NewIndex]. [RunForEach] turns a collection into running things:
// one listener, stream or goroutine per item, started, restarted and stopped as items come
// and go.
//
// The rules every collection keeps:
//
//   - Writes build the new state under the collection's own lock and queue the resulting
//     events; handlers run later on a goroutine per watcher, holding no lock. A handler may
//     therefore Get, List or even Watch any collection, including its own.
//   - An upsert that does not change the value (by the collection's equality) emits nothing.
//   - A watcher sees the events of one key in the order they happened; in fact it sees every
//     event of the collection in order.
//   - Derived collections recompute only what an input event touches, so the cost of an
//     update does not grow with the size of the collection.
//   - Every Watch returns a cancel function; after it returns no handler call begins, and the
//     goroutine behind the watch exits. Derived collections and RunForEach have Stop methods
//     with the same guarantee.
//
// The package has no Caddy import and can be used on its own.
package collection
