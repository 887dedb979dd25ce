package controller

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ripcord/ripcord/internal/detect"
)

// Metrics is ripcord's own exposition about its decisions. A nil *Metrics
// records nothing, so tests need not build one.
type Metrics struct {
	decisions *prometheus.CounterVec
	rollbacks *prometheus.CounterVec
	verdicts  *verdictGauge
}

// NewMetrics registers the controller's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ripcord_decisions_total",
			Help: "Actions decided, by service and action (rollback, fallback, manual_rollback, escalate)."}, []string{"service", "action"}),
		rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ripcord_rollbacks_total",
			Help: "Reverts that completed, by service."}, []string{"service"}),
		verdicts: &verdictGauge{now: map[string]detect.Verdict{}},
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
	m.verdicts.mu.Lock()
	m.verdicts.now[service] = v
	m.verdicts.mu.Unlock()
}

var verdictDesc = prometheus.NewDesc("ripcord_verdict", "1 for the current verdict of each service, 0 for the others.",
	[]string{"service", "verdict"}, nil)

// verdictGauge is ripcord_verdict: a series per service and verdict,
// made when scraped from each service's current verdict. A GaugeVec
// child per series held about 3 KB for every service (five verdicts,
// each with its label pairs); this holds a map entry.
type verdictGauge struct {
	mu  sync.Mutex
	now map[string]detect.Verdict // by service, once judged
}

func (g *verdictGauge) Describe(ch chan<- *prometheus.Desc) { ch <- verdictDesc }

func (g *verdictGauge) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	now := make(map[string]detect.Verdict, len(g.now))
	for s, v := range g.now {
		now[s] = v
	}
	g.mu.Unlock()
	for s, v := range now {
		for _, x := range allVerdicts {
			val := 0.0
			if x == v {
				val = 1
			}
			ch <- prometheus.MustNewConstMetric(verdictDesc, prometheus.GaugeValue, val, s, x.String())
		}
	}
}
