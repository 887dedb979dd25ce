package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// evaluate checks one answer against a probe's expectations and returns one
// line per failed expectation, each naming it: "status: got 500, want 2xx",
// "json choices[0].text equals: got "5", want "4"".
func (e Expect) evaluate(status int, body []byte, latency time.Duration) []string {
	var fails []string
	switch {
	case e.Status != 0 && status != e.Status:
		fails = append(fails, fmt.Sprintf("status: got %d, want %d", status, e.Status))
	case e.Status == 0 && (status < 200 || status > 299):
		fails = append(fails, fmt.Sprintf("status: got %d, want 2xx", status))
	}
	if e.MaxLatency > 0 && latency > e.MaxLatency {
		fails = append(fails, fmt.Sprintf("max_latency: took %s, want <= %s",
			latency.Round(time.Millisecond), e.MaxLatency))
	}
	if len(e.JSON) == 0 {
		return fails
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return append(fails, fmt.Sprintf("json: body is not JSON: %v", err))
	}
	for _, je := range e.JSON {
		fails = append(fails, je.evaluate(doc)...)
	}
	return fails
}

func (e JSONExpect) evaluate(doc any) []string {
	v, err := e.path.Lookup(doc)
	if err != nil {
		return []string{fmt.Sprintf("json %s: %v", e.path, err)}
	}
	var fails []string
	fail := func(what, format string, args ...any) {
		fails = append(fails, fmt.Sprintf("json %s %s: "+format, append([]any{e.path, what}, args...)...))
	}
	if e.Equals != nil && !equalJSON(v, e.Equals) {
		fail("equals", "got %s, want %s", show(v), show(e.Equals))
	}
	if e.Contains != nil && !contains(v, e.Contains) {
		fail("contains", "%s does not contain %s", show(v), show(e.Contains))
	}
	if e.regex != nil {
		s, ok := v.(string)
		if !ok {
			s = show(v)
		}
		if !e.regex.MatchString(s) {
			fail("regex", "%s does not match %s", show(v), e.Regex)
		}
	}
	if len(e.Range) == 2 {
		if f, ok := number(v); !ok {
			fail("range", "got %s, want a number in [%g, %g]", show(v), e.Range[0], e.Range[1])
		} else if f < e.Range[0] || f > e.Range[1] {
			fail("range", "got %g, want [%g, %g]", f, e.Range[0], e.Range[1])
		}
	}
	return fails
}

// normalize turns decoded JSON and decoded YAML into one shape: numbers
// become float64, maps map[string]any, lists []any.
func normalize(v any) any {
	if f, ok := number(v); ok {
		return f
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map: // YAML may decode to map[any]any or typed maps
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			out[fmt.Sprint(it.Key().Interface())] = normalize(it.Value().Interface())
		}
		return out
	case reflect.Slice:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalize(rv.Index(i).Interface())
		}
		return out
	}
	return v
}

// number reports v as a float64 if it is any kind of number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	}
	return math.NaN(), false
}

func equalJSON(got, want any) bool { return reflect.DeepEqual(normalize(got), normalize(want)) }

func contains(got, want any) bool {
	switch g := got.(type) {
	case string:
		w, ok := want.(string)
		return ok && strings.Contains(g, w)
	case []any:
		for _, e := range g {
			if equalJSON(e, want) {
				return true
			}
		}
	}
	return false
}

// show prints a value as JSON, shortened for a failure line.
func show(v any) string {
	b, err := json.Marshal(normalize(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}
