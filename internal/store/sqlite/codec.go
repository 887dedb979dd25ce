package sqlite

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// timeLayout is fixed-width (always nine fractional digits, always UTC "Z"),
// so stored times sort as text in time order and keep full nanoseconds.
// time.RFC3339Nano trims trailing zeros, which would break text ordering.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// encTime renders t for storage. The zero time becomes
// "0001-01-01T00:00:00.000000000Z", which decTime maps back to time.Time{}.
func encTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// checkTimes rejects times whose year does not fit four digits: they would
// be written fine but could not be parsed back, which is worse than failing
// the write.
func checkTimes(ts ...time.Time) error {
	for _, t := range ts {
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return fmt.Errorf("time %s out of storable range (years 1-9999)", t)
		}
	}
	return nil
}

// timeCol scans a stored time into *t, in UTC, mapping the stored zero time
// back to time.Time{} so IsZero holds after a round-trip.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
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

// Non-finite floats are legitimate metric values (a ratio with no samples is
// NaN) but JSON cannot carry them, so they are stored as these strings rather
// than failing the write of a decision or event.
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

// encSnapshot stores a metric snapshot as a JSON object; non-finite values
// become strings and come back as the same float from decSnapshot.
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
	raw := map[string]any{}
	if err := json.Unmarshal(textBytes(src), &raw); err != nil {
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

// encData stores event data as JSON, or NULL when there is none. Values come
// back with JSON types (numbers as float64), as they would over the API.
func encData(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(sanitize(m))
	if err != nil {
		return nil, fmt.Errorf("encode event data: %w", err)
	}
	return string(b), nil
}

// sanitize replaces non-finite floats anywhere in maps and slices of the
// JSON shapes, so an event carrying a NaN metric is still recorded.
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
	if src == nil {
		return nil
	}
	if err := json.Unmarshal(textBytes(src), c.m); err != nil {
		return fmt.Errorf("data column: %w", err)
	}
	return nil
}

func textBytes(src any) []byte {
	switch v := src.(type) {
	case string:
		return []byte(v)
	case []byte:
		return v
	}
	return nil
}
