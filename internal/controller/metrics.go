package controller

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ripcord/ripcord/internal/detect"
)

// Metrics is ripcord's own exposition about its decisions. A nil *Metrics
// records nothing, so tests need not build one.
type Metrics struct {
	decisions *prometheus.CounterVec
	rollbacks *prometheus.CounterVec
	verdicts  *prometheus.GaugeVec
}

// NewMetrics registers the controller's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ripcord_decisions_total",
			Help: "Actions decided, by service and action (rollback, fallback, manual_rollback, escalate)."}, []string{"service", "action"}),
		rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ripcord_rollbacks_total",
			Help: "Reverts that completed, by service."}, []string{"service"}),
		verdicts: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ripcord_verdict",
			Help: "1 for the current verdict of each service, 0 for the others."}, []string{"service", "verdict"}),
	}
	reg.MustRegister(m.decisions, m.rollbacks, m.verdicts)
	return m
}

func (m *Metrics) decision(service, action string) {
	if m != nil {
		m.decisions.WithLabelValues(service, action).Inc()
	}
}

func (m *Metrics) rollback(service string) {
	if m != nil {
		m.rollbacks.WithLabelValues(service).Inc()
	}
}

var allVerdicts = detect.Verdicts

func (m *Metrics) verdict(service string, v detect.Verdict) {
	if m == nil {
		return
	}
	for _, x := range allVerdicts {
		val := 0.0
		if x == v {
			val = 1
		}
		m.verdicts.WithLabelValues(service, x.String()).Set(val)
	}
}
