package report

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// checks turns every "detected" event into a Check, naming the version that
// was active when it was written (the incident's from version, then the
// target of each rollback), and lists the anomalous metrics.
func checks(inc incident.Incident, th map[string]Threshold) ([]Check, []string) {
	var out []Check
	var anomalous []string
	active := inc.FromVersion
	for _, ev := range inc.Events {
		switch ev.Type {
		case incident.EvRollbackDone:
			if to := text(ev.Data["to"]); to != "" {
				active = to
			}
		case incident.EvDetected:
			c := Check{At: ev.At, Version: active, Message: ev.Message}
			for _, f := range findings(ev.Data["findings"]) {
				c.Findings = append(c.Findings, FindingRow{Finding: f, Bounds: th[f.Metric]})
				if f.Anomalous && !slices.Contains(anomalous, f.Metric) {
					anomalous = append(anomalous, f.Metric)
				}
			}
			out = append(out, c)
		}
	}
	return out, anomalous
}

// findings decodes Data["findings"] as written in memory ([]detect.Finding)
// or read back from the store (generic JSON: []any of map[string]any, with
// non-finite numbers stored as strings). Entries that are not objects are
// skipped; fields of the wrong type read as zero.
func findings(v any) []detect.Finding {
	switch x := v.(type) {
	case []detect.Finding:
		return x
	case []map[string]any:
		out := make([]detect.Finding, 0, len(x))
		for _, m := range x {
			out = append(out, finding(m))
		}
		return out
	case []any:
		out := make([]detect.Finding, 0, len(x))
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				out = append(out, finding(m))
			}
		}
		return out
	}
	return nil
}

func finding(m map[string]any) detect.Finding {
	f := detect.Finding{Metric: text(m["metric"]), Text: text(m["text"])}
	f.Value = numberOr(m["value"], math.NaN())
	f.Limit = numberOr(m["limit"], 0)
	if n := numberOr(m["samples"], 0); finite(n) {
		f.Samples = int64(n)
	}
	f.Anomalous, f.Critical = boolOf(m["anomalous"]), boolOf(m["critical"])
	f.Missing, f.TooFew = boolOf(m["missing"]), boolOf(m["too_few"])
	return f
}

// decisionRows attaches each decision's snapshot in name order.
func decisionRows(ds []store.Decision) []DecisionRow {
	out := make([]DecisionRow, 0, len(ds))
	for _, d := range ds {
		row := DecisionRow{Decision: d}
		for _, k := range sortedKeys(d.Snapshot) {
			row.Values = append(row.Values, Value{Name: k, V: d.Snapshot[k]})
		}
		out = append(out, row)
	}
	return out
}

// verification reads the last "verified" event and every failure on the way.
func verification(evs []incident.Event) Verification {
	var v Verification
	for _, ev := range evs {
		switch ev.Type {
		case incident.EvVerified:
			v.Done, v.At, v.Message, v.Values = true, ev.At, ev.Message, snapshotValues(ev.Data["snapshot"])
		case incident.EvRollbackFailed, incident.EvEscalated:
			v.Failures = append(v.Failures, ev)
		}
	}
	return v
}

// snapshotValues decodes a snapshot map, typed or generic, in name order.
func snapshotValues(v any) []Value {
	m := map[string]float64{}
	switch x := v.(type) {
	case map[string]float64:
		m = x
	case map[string]any:
		for k, e := range x {
			f, ok := number(e)
			if _, stored := e.(string); !ok && !stored {
				continue
			}
			m[k] = f // a stored non-finite value reads as NaN: "n/a"
		}
	}
	out := make([]Value, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, Value{Name: k, V: m[k]})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// number reads a JSON-ish number: float64 after a round trip, an integer in
// memory, or a string the store wrote for a non-finite value (read as NaN,
// which every formatter prints as "n/a").
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return math.NaN(), false
		}
		return f, true
	}
	return 0, false
}

func numberOr(v any, def float64) float64 {
	if f, ok := number(v); ok {
		return f
	}
	return def
}

func text(v any) string {
	s, _ := v.(string)
	return s
}

func boolOf(v any) bool {
	b, _ := v.(bool)
	return b
}
