package sqlite

import (
	"context"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// TestEncTimeSortsAsText: SQL orders and compares the stored text, so text
// order must be time order — across zones, trailing-zero nanoseconds and
// the zero time.
func TestEncTimeSortsAsText(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	times := []time.Time{
		{},
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 100, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(2026, 1, 1, 6, 0, 0, 0, ist), // 00:30 UTC
		time.Date(2026, 1, 1, 0, 30, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	}
	var enc []string
	for _, tt := range times {
		e := encTime(tt)
		if len(e) != len(timeLayout)-len("Z07:00")+1 {
			t.Errorf("encTime(%v) = %q is not fixed-width", tt, e)
		}
		enc = append(enc, e)
	}
	if !sort.StringsAreSorted(enc) {
		t.Errorf("encoded times do not sort as text:\n%s", strings.Join(enc, "\n"))
	}
	for i, e := range enc {
		var got time.Time
		if err := (timeCol{&got}).Scan(e); err != nil {
			t.Fatalf("Scan(%q): %v", e, err)
		}
		if !got.Equal(times[i]) || got.IsZero() != times[i].IsZero() {
			t.Errorf("round trip of %v = %v", times[i], got)
		}
		if !got.IsZero() && got.Location() != time.UTC {
			t.Errorf("round trip of %v is in %v, want UTC", times[i], got.Location())
		}
	}
}

func TestTimeColScan(t *testing.T) {
	for _, tc := range []struct {
		src  any
		want time.Time
		ok   bool
	}{
		{"2026-01-02T03:04:05.000000006Z", time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), true},
		{[]byte("2026-01-02T03:04:05.000000006Z"), time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), true},
		{"0001-01-01T00:00:00.000000000Z", time.Time{}, true},
		{"2026-01-02T08:34:05+05:30", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), true}, // written by hand
		{"yesterday", time.Time{}, false},
		{int64(1700000000), time.Time{}, false},
		{nil, time.Time{}, false},
	} {
		got := time.Unix(42, 0) // must be overwritten on success
		err := (timeCol{&got}).Scan(tc.src)
		if (err == nil) != tc.ok {
			t.Errorf("Scan(%#v) error = %v, want ok %v", tc.src, err, tc.ok)
			continue
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "time column: ") {
				t.Errorf("Scan(%#v) error %q lacks the column prefix", tc.src, err)
			}
			continue
		}
		if !got.Equal(tc.want) || (tc.want.IsZero() && got != (time.Time{})) {
			t.Errorf("Scan(%#v) = %v, want %v", tc.src, got, tc.want)
		}
	}
}

func TestSnapshotCodec(t *testing.T) {
	in := map[string]float64{"nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1),
		"zero": 0, "neg": -1.5, "tiny": math.SmallestNonzeroFloat64, "big": math.MaxFloat64}
	enc, err := encSnapshot(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"nan":"NaN"`, `"inf":"+Inf"`, `"ninf":"-Inf"`} {
		if !strings.Contains(enc, want) {
			t.Errorf("encSnapshot = %s, lacks %s", enc, want)
		}
	}
	var out map[string]float64
	if err := (snapshotCol{&out}).Scan(enc); err != nil {
		t.Fatal(err)
	}
	for k, v := range in {
		g, ok := out[k]
		if !ok || (g != v && !(math.IsNaN(g) && math.IsNaN(v))) {
			t.Errorf("%s: %v (present %v), want %v", k, g, ok, v)
		}
	}
	for _, tc := range []struct {
		src     any
		wantNil bool
		errPart string
	}{
		{"{}", true, ""},
		{[]byte("{}"), true, ""},
		{`{"a":"fast"}`, false, "a:"},
		{`{"a":true}`, false, "unexpected bool"},
		{`{"a":[1]}`, false, "unexpected []interface"},
		{`not json`, false, "snapshot column"},
	} {
		m := map[string]float64{"stale": 1}
		err := (snapshotCol{&m}).Scan(tc.src)
		switch {
		case tc.errPart == "" && err != nil:
			t.Errorf("Scan(%v): %v", tc.src, err)
		case tc.errPart != "" && (err == nil || !strings.Contains(err.Error(), tc.errPart)):
			t.Errorf("Scan(%v) = %v, want an error containing %q", tc.src, err, tc.errPart)
		case tc.wantNil && m != nil:
			t.Errorf("Scan(%v) = %v, want nil", tc.src, m)
		}
	}
}

// TestEventDataCodec: Data comes back with JSON types, non-finite floats
// anywhere in it become strings, and no Data stays no Data.
func TestEventDataCodec(t *testing.T) {
	if v, err := encData(nil); v != nil || err != nil {
		t.Errorf("encData(nil) = %v, %v; want NULL", v, err)
	}
	v, err := encData(map[string]any{
		"f32":    float32(math.Inf(-1)),
		"list":   []any{math.NaN(), 1.5, "x"},
		"typed":  map[string]float64{"p99": math.Inf(1), "ok": 2},
		"nested": map[string]any{"deeper": map[string]any{"v": math.NaN()}},
		"int":    7,
	})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := (dataCol{&out}).Scan(v); err != nil {
		t.Fatal(err)
	}
	if out["f32"] != "-Inf" || out["int"] != 7.0 {
		t.Errorf("scalars = %#v", out)
	}
	if l := out["list"].([]any); l[0] != "NaN" || l[1] != 1.5 || l[2] != "x" {
		t.Errorf("list = %#v", l)
	}
	if m := out["typed"].(map[string]any); m["p99"] != "+Inf" || m["ok"] != 2.0 {
		t.Errorf("typed map = %#v", m)
	}
	if m := out["nested"].(map[string]any)["deeper"].(map[string]any); m["v"] != "NaN" {
		t.Errorf("nested = %#v", m)
	}
	out = map[string]any{"stale": true}
	if err := (dataCol{&out}).Scan(nil); err != nil || out != nil {
		t.Errorf("Scan(NULL) = %v, %v; want nil", out, err)
	}
	if err := (dataCol{&out}).Scan("[1,2]"); err == nil {
		t.Error("Scan of a JSON array into event data succeeded")
	}
}

// TestMetricsEdges: bounds are inclusive, non-finite quantiles are stored
// as 0 (REAL columns), non-finite pushed values survive, and each service
// reads only its own points.
func TestMetricsEdges(t *testing.T) {
	ctx := context.Background()
	s := openFile(t, ":memory:")
	defer s.Close()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	pts := []store.MetricPoint{
		{Service: "api", Version: "v1", At: t0, Requests: 1, P50Ms: math.NaN(), P99Ms: math.Inf(1),
			Values: map[string]float64{"quality": math.NaN()}},
		{Service: "api", Version: "v1", At: t0.Add(time.Second), Requests: 2},
		{Service: "api", Version: "v1", At: t0.Add(2 * time.Second), Requests: 3},
		{Service: "web", Version: "v1", At: t0.Add(time.Second), Requests: 99},
	}
	if err := s.RecordMetrics(ctx, pts); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordMetrics(ctx, nil); err != nil {
		t.Errorf("RecordMetrics(nil): %v", err)
	}
	got, err := s.Metrics(ctx, "api", t0, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var reqs []int64
	for _, p := range got {
		reqs = append(reqs, p.Requests)
	}
	if !slices.Equal(reqs, []int64{1, 2}) {
		t.Fatalf("points in [t0, t0+1s] = %v, want [1 2]", reqs)
	}
	if got[0].P50Ms != 0 || got[0].P99Ms != 0 || !math.IsNaN(got[0].Values["quality"]) {
		t.Errorf("non-finite point = %+v", got[0])
	}
	if got[1].Values != nil {
		t.Errorf("a point without values came back with %v", got[1].Values)
	}
	n, err := s.PruneMetrics(ctx, t0.Add(time.Second))
	if err != nil || n != 1 {
		t.Errorf("PruneMetrics(t0+1s) = %d, %v; want only the point strictly before", n, err)
	}
}

// TestRecordMetricsRefusesUnstorableTime: a point whose time cannot be read
// back would make every later Metrics call of its service fail, so the
// write is refused — and none of the batch is written.
func TestRecordMetricsRefusesUnstorableTime(t *testing.T) {
	ctx := context.Background()
	s := openFile(t, ":memory:")
	defer s.Close()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	err := s.RecordMetrics(ctx, []store.MetricPoint{
		{Service: "api", Version: "v1", At: t0, Requests: 1},
		{Service: "api", Version: "v1", At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Requests: 2},
	})
	if err == nil || !strings.HasPrefix(err.Error(), "sqlite: record metrics: ") {
		t.Fatalf("RecordMetrics with year 10000 = %v, want a sqlite: record metrics error", err)
	}
	got, err := s.Metrics(ctx, "api", time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("Metrics after the refused write: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("a refused batch left %d points", len(got))
	}
}

// TestListIncidentsFilters combines the filters and checks each narrows.
func TestListIncidentsFilters(t *testing.T) {
	ctx := context.Background()
	s := openFile(t, ":memory:")
	defer s.Close()
	for _, inc := range []incident.Incident{
		{Service: "api", Kind: incident.KindRollback, Status: incident.Resolved},      // 1
		{Service: "api", Kind: incident.KindRollback, Status: incident.Monitoring},    // 2
		{Service: "api", Kind: incident.KindBlind, Status: incident.Investigating},    // 3
		{Service: "web", Kind: incident.KindRollback, Status: incident.Investigating}, // 4
	} {
		if _, err := s.CreateIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		f    store.IncidentFilter
		want string
	}{
		{store.IncidentFilter{}, "INC-0004 INC-0003 INC-0002 INC-0001"},
		{store.IncidentFilter{Service: "api", Kind: incident.KindRollback}, "INC-0002 INC-0001"},
		{store.IncidentFilter{Service: "api", Kind: incident.KindRollback, OpenOnly: true}, "INC-0002"},
		{store.IncidentFilter{OpenOnly: true, Limit: 2}, "INC-0004 INC-0003"},
		{store.IncidentFilter{Kind: incident.KindManual}, ""},
		{store.IncidentFilter{Service: "web'; DROP TABLE incidents; --"}, ""},
		{store.IncidentFilter{Limit: -5}, "INC-0004 INC-0003 INC-0002 INC-0001"},
	} {
		got, err := s.ListIncidents(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, inc := range got {
			ids = append(ids, inc.ID)
		}
		if strings.Join(ids, " ") != tc.want {
			t.Errorf("ListIncidents(%+v) = %v, want %s", tc.f, ids, tc.want)
		}
	}
}
