package api

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
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
