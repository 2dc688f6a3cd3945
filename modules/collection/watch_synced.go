package collection

// WatchBatchSynced is WatchBatch that also says, with each batch, whether the collection
// has synced. The handler is called for the initial batch even when it is empty, and for
// the write that syncs the collection even when that write changes nothing, so that a
// consumer can tell when it has taken in the collection's first complete view.
func WatchBatchSynced[T any](c Collection[T], h func(events []Event[T], synced bool)) (cancel func()) {
	return c.subscribe(func(_ *watcher[T], events []Event[T], synced bool) {
		h(events, synced)
	}).cancel
}
