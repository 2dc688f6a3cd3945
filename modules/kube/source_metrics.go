package kube

import (
	"errors"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// rejectedDesc counts objects that passed the API server's validation but that the source
// could not use (see store.upsert). It is read from the running sources at scrape time.
var rejectedDesc = prometheus.NewDesc("caddy_mesh_kubernetes_rejected_objects_total",
	"Number of times an object from the Kubernetes API server was skipped because it could not be used.",
	[]string{"source", "kind"}, nil)

// loaders are the running sources, by loader, with their source names, for the collector.
var loaders sync.Map // *loader → string

// trackLoader adds a running source to the metrics; Destruct removes it.
func trackLoader(source string, l *loader) { loaders.Store(l, source) }

type metricsCollector struct{}

func registerMetrics(ctx caddy.Context) error {
	r := ctx.GetMetricsRegistry()
	if r == nil {
		return nil // a bare context, as in unit tests
	}
	err := r.Register(metricsCollector{})
	if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
		return nil
	}
	return err
}

func (metricsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- rejectedDesc }

func (metricsCollector) Collect(ch chan<- prometheus.Metric) {
	loaders.Range(func(k, v any) bool {
		for kind, n := range k.(*loader).rejected() {
			ch <- prometheus.MustNewConstMetric(rejectedDesc, prometheus.CounterValue, float64(n), v.(string), kind)
		}
		return true
	})
}
