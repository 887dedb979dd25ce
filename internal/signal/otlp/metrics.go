package otlp

import (
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descReceived = prometheus.NewDesc("ripcord_otlp_points_received_total",
		"OTLP data points stored (mapped to a watched service, version and metric).", nil, nil)
	descDropped = prometheus.NewDesc("ripcord_otlp_points_dropped_total",
		"OTLP data points not stored, by reason: service, version, instrument, filtered, type, unit, series_limit, version_limit, duplicate.",
		[]string{"reason"}, nil)
	descSeries = prometheus.NewDesc("ripcord_otlp_series",
		"Raw OTLP series kept (one per process, instrument and attribute set), over all versions.", nil, nil)
)

var _ prometheus.Collector = (*Receiver)(nil)

// Describe implements prometheus.Collector, so the daemon can register the
// receiver's counters beside its own.
func (r *Receiver) Describe(ch chan<- *prometheus.Desc) {
	ch <- descReceived
	ch <- descDropped
	ch <- descSeries
}

// Collect implements prometheus.Collector.
func (r *Receiver) Collect(ch chan<- prometheus.Metric) {
	st := r.Stats()
	ch <- prometheus.MustNewConstMetric(descReceived, prometheus.CounterValue, float64(st.Received))
	for _, reason := range slices.Sorted(maps.Keys(st.Dropped)) {
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(st.Dropped[reason]), reason)
	}
	ch <- prometheus.MustNewConstMetric(descSeries, prometheus.GaugeValue, float64(st.Series))
}
