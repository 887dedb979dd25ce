package postgres

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The encodings below are the SQLite store's (store/sqlite/codec.go), so
// the two stores agree on what a stored value means; see doc.go for why
// times are text.

const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func encTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// checkTimes rejects years that do not fit four digits: written, they could
// not be read back.
func checkTimes(ts ...time.Time) error {
	for _, t := range ts {
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return fmt.Errorf("time %s out of storable range (years 1-9999)", t)
		}
	}
	return nil
}

// timeCol scans a stored time into *t, in UTC, the stored zero time as
// time.Time{}.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	s, ok := src.(string)
	if !ok {
		return fmt.Errorf("time column: unexpected %T", src)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time column: %w", err)
	}
	if t.IsZero() {
		*c.t = time.Time{}
		return nil
	}
	*c.t = t.UTC()
	return nil
}

const (
	jsonNaN    = "NaN"
	jsonPosInf = "+Inf"
	jsonNegInf = "-Inf"
)

func finiteOrString(v float64) any {
	switch {
	case math.IsNaN(v):
		return jsonNaN
	case math.IsInf(v, 1):
		return jsonPosInf
	case math.IsInf(v, -1):
		return jsonNegInf
	}
	return v
}

func encSnapshot(m map[string]float64) (string, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = finiteOrString(v)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode snapshot: %w", err)
	}
	return string(b), nil
}

// snapshotCol scans a JSON snapshot into *m; an empty object gives nil.
type snapshotCol struct{ m *map[string]float64 }

func (c snapshotCol) Scan(src any) error {
	s, _ := src.(string)
	raw := map[string]any{}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return fmt.Errorf("snapshot column: %w", err)
	}
	if len(raw) == 0 {
		*c.m = nil
		return nil
	}
	out := make(map[string]float64, len(raw))
	for k, v := range raw {
		switch x := v.(type) {
		case float64:
			out[k] = x
		case string:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return fmt.Errorf("snapshot column: %s: %w", k, err)
			}
			out[k] = f
		default:
			return fmt.Errorf("snapshot column: %s: unexpected %T", k, v)
		}
	}
	*c.m = out
	return nil
}

// encData stores event data as JSON, or NULL when there is none.
func encData(m map[string]any) (*string, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(sanitize(m))
	if err != nil {
		return nil, fmt.Errorf("encode event data: %w", err)
	}
	s := string(b)
	return &s, nil
}

// sanitize replaces non-finite floats anywhere in the JSON shapes.
func sanitize(v any) any {
	switch x := v.(type) {
	case float64:
		return finiteOrString(x)
	case float32:
		return finiteOrString(float64(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = sanitize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = sanitize(e)
		}
		return out
	case map[string]float64:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = finiteOrString(e)
		}
		return out
	}
	return v
}

// dataCol scans nullable JSON event data into *m.
type dataCol struct{ m *map[string]any }

func (c dataCol) Scan(src any) error {
	*c.m = nil
	s, ok := src.(string)
	if !ok || src == nil {
		return nil
	}
	if err := json.Unmarshal([]byte(s), c.m); err != nil {
		return fmt.Errorf("data column: %w", err)
	}
	return nil
}

// finiteOr0 keeps double precision columns finite; a quantile of no
// requests is 0.
func finiteOr0(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
