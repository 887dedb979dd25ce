package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestBackendAnswersLikeItsFault: a healthy version answers 200 JSON with
// its name; the error fault fails about half the requests with 503 (both
// kinds appear in 200 tries); every answer carries X-Version.
func TestBackendAnswersLikeItsFault(t *testing.T) {
	for _, tc := range []struct {
		fault           string
		want200, any503 bool
	}{
		{FaultNone, true, false},
		{FaultQuality, true, false}, // quality shows only in the pipeline's scores
		{FaultError, true, true},
	} {
		b, err := startBackend(&backend{version: "v2", fault: tc.fault})
		if err != nil {
			t.Fatal(err)
		}
		codes := map[int]int{}
		for range 200 {
			resp, err := http.Get(b.url + "/v1/completions")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			codes[resp.StatusCode]++
			if resp.Header.Get("X-Version") != "v2" {
				t.Fatalf("%s: X-Version %q", tc.fault, resp.Header.Get("X-Version"))
			}
			if resp.StatusCode == http.StatusOK {
				var ans struct{ Version, Answer string }
				if json.Unmarshal(body, &ans) != nil || ans.Version != "v2" || ans.Answer == "" || resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("%s: 200 with %q", tc.fault, body)
				}
			}
		}
		b.stop(t.Context())
		if (codes[200] > 0) != tc.want200 || (codes[503] > 0) != tc.any503 || codes[200]+codes[503] != 200 {
			t.Errorf("%s: answers %v", tc.fault, codes)
		}
		if _, err := http.Get(b.url); err == nil {
			t.Errorf("%s: backend still answers after stop", tc.fault)
		}
	}
}

// TestLatencyBackendHoldsTheAnswer: with the latency fault the backend
// does not answer before its delay; a client that gives up gets nothing
// and the handler returns at once instead of holding a goroutine.
func TestLatencyBackendHoldsTheAnswer(t *testing.T) {
	b := &backend{version: "v2", fault: FaultLatency}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/completions", nil).WithContext(ctx))
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" || rec.Header().Get("X-Version") != "v2" {
		t.Fatalf("a cancelled slow request got %q %v", rec.Body.String(), rec.Header())
	}
}
