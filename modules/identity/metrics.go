package identity

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// The internal CA's metrics, in Caddy's Prometheus registry. They are read from the
// certificate caches at scrape time, so keeping them costs nothing on the hot path.
var (
	certificatesDesc = prometheus.NewDesc("caddy_mesh_identity_certificates",
		"Number of workload certificates the internal CA keeps and renews.", []string{"trust_domain", "authority"}, nil)
	issuedDesc = prometheus.NewDesc("caddy_mesh_identity_issued_total",
		"Number of workload certificates the internal CA signed, first issues and renewals.", []string{"trust_domain", "authority"}, nil)
	issueErrorsDesc = prometheus.NewDesc("caddy_mesh_identity_issue_errors_total",
		"Number of failed attempts to sign a workload certificate.", []string{"trust_domain", "authority"}, nil)
)

// metricsCollector reports every live cache. One value serves all registries: registering
// it again in the same registry is a no-op.
type metricsCollector struct{}

func registerMetrics(ctx caddy.Context) error {
	r := ctx.GetMetricsRegistry()
	if r == nil {
		return nil
	}
	err := r.Register(metricsCollector{})
	if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
		return nil
	}
	return err
}

func (metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- certificatesDesc
	ch <- issuedDesc
	ch <- issueErrorsDesc
}

// Collect sums the caches by trust domain and authority: during a reload that changes the
// lifetime, two caches share them for a moment, and a series must not appear twice.
func (metricsCollector) Collect(ch chan<- prometheus.Metric) {
	type labels struct{ td, authority string }
	type sums struct{ certs, issued, errs float64 }
	totals := make(map[labels]*sums)
	pool.Range(func(_, v any) bool {
		c := v.(*cache)
		l := labels{c.trustDomain, c.authority}
		s := totals[l]
		if s == nil {
			s = new(sums)
			totals[l] = s
		}
		s.certs += float64(c.size())
		s.issued += float64(c.issued.Load())
		s.errs += float64(c.issueFailure.Load())
		return true
	})
	for l, s := range totals {
		ch <- prometheus.MustNewConstMetric(certificatesDesc, prometheus.GaugeValue, s.certs, l.td, l.authority)
		ch <- prometheus.MustNewConstMetric(issuedDesc, prometheus.CounterValue, s.issued, l.td, l.authority)
		ch <- prometheus.MustNewConstMetric(issueErrorsDesc, prometheus.CounterValue, s.errs, l.td, l.authority)
	}
}
