package mesh

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// The mesh's metrics, in Caddy's Prometheus registry. They are read from the collections at
// scrape time, so keeping them costs nothing on the write path.
var (
	itemsDesc = prometheus.NewDesc("caddy_mesh_collection_items",
		"Number of items in a mesh collection.", []string{"source", "kind"}, nil)
	syncedDesc = prometheus.NewDesc("caddy_mesh_collection_synced",
		"1 if the mesh collection holds a complete first view of its source, else 0.", []string{"source", "kind"}, nil)
	errorDesc = prometheus.NewDesc("caddy_mesh_collection_error",
		"1 if the source reported an error for the collection that is not yet cleared, else 0.", []string{"source", "kind"}, nil)
	eventsDesc = prometheus.NewDesc("caddy_mesh_collection_events_total",
		"Number of change events (adds, updates, deletes) a mesh collection has emitted.", []string{"source", "kind"}, nil)
)

type metricsCollector struct{ reg *Registry }

func registerMetrics(ctx caddy.Context, reg *Registry) error {
	r := ctx.GetMetricsRegistry()
	if r == nil {
		return nil // a bare context, as in unit tests
	}
	err := r.Register(metricsCollector{reg: reg})
	if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
		return nil
	}
	return err
}

func (metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- itemsDesc
	ch <- syncedDesc
	ch <- errorDesc
	ch <- eventsDesc
}

func (m metricsCollector) Collect(ch chan<- prometheus.Metric) {
	m.reg.mu.RLock()
	entries := make([]entry, 0, len(m.reg.entries))
	for _, e := range m.reg.entries {
		entries = append(entries, e)
	}
	m.reg.mu.RUnlock()
	for _, e := range entries {
		ch <- prometheus.MustNewConstMetric(itemsDesc, prometheus.GaugeValue, float64(e.col.Len()), e.source, e.kind)
		ch <- prometheus.MustNewConstMetric(syncedDesc, prometheus.GaugeValue, boolFloat(e.col.HasSynced()), e.source, e.kind)
		ch <- prometheus.MustNewConstMetric(errorDesc, prometheus.GaugeValue, boolFloat(e.col.LastError() != nil), e.source, e.kind)
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(e.col.EventCount()), e.source, e.kind)
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
