package api

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A value JSON cannot carry is a 500 with an error body, never a 200 with
// an empty body that every client fails to decode.
func TestWriteJSONUnencodable(t *testing.T) {
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, map[string]float64{"evidence": math.Inf(-1)})
	var e Error
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != http.StatusInternalServerError || e.Code != "internal" {
		t.Fatalf("status %d body %q (%v)", rec.Code, rec.Body, err)
	}
	rec = httptest.NewRecorder()
	writeJSON(rec, http.StatusCreated, map[string]float64{"evidence": 2.5})
	if rec.Code != http.StatusCreated || rec.Body.String() != "{\"evidence\":2.5}\n" {
		t.Fatalf("status %d body %q", rec.Code, rec.Body)
	}
}

// A body with anything after its JSON value is refused, not half read.
func TestDecodeTrailingData(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"version":"v2"}`:                 true,
		"{\"version\":\"v2\"}\n":           true,
		``:                                 true,
		`{"version":"v2"}{"version":"v3"}`: false,
		`{"version":"v2"} x`:               false,
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		var v struct{ Version string }
		if got := decode(rec, req, &v); got != ok {
			t.Errorf("decode(%q) = %v (status %d %s), want %v", body, got, rec.Code, rec.Body, ok)
		}
	}
}

func TestLimitIsCapped(t *testing.T) {
	for q, want := range map[string]int{"": 50, "limit=7": 7, "limit=0": 50, "limit=-3": 50, "limit=x": 50, "limit=999999999": maxLimit} {
		if got := intParam(httptest.NewRequest(http.MethodGet, "/?"+q, nil), "limit", 50); got != want {
			t.Errorf("%q: %d, want %d", q, got, want)
		}
	}
}
