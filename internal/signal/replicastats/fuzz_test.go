package replicastats

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/proxy"
)

// FuzzReceiver posts arbitrary bodies to the leader's report endpoint, with
// the token, and reads the merged statistics after each. Whatever
// arrives: no panic, no 500, every refusal the API's JSON error shape
// with the field named, and the merged counts never negative. Seeds are in
// testdata/fuzz/FuzzReceiver.
func FuzzReceiver(f *testing.F) {
	recv, err := NewReceiver(ReceiverOptions{Token: token, Self: "leader"})
	if err != nil {
		f.Fatal(err)
	}
	sw := proxy.New(proxy.Options{Service: "svc"})
	sw.SetVersion("v", "http://127.0.0.1:1")
	sw.Activate("v")
	merged := recv.Stats("svc", sw)
	slot := time.Now().UnixNano() / int64(100*time.Millisecond)
	since := sw.Stats("v", time.Now(), time.Now()).Cumulative.Since.UnixNano()
	good, _ := json.Marshal(Batch{V: 1, Replica: "f", Services: []ServiceReport{{Service: "svc", Versions: []proxy.VersionReport{{
		Version: "v", From: slot - 2, To: slot,
		Slots:      []proxy.SlotReport{{I: slot - 1, Errors: 1, S5xx: 1, Latency: []uint32{100, 1, 900, 2}, TTFB: []uint32{50, 3}}},
		Cumulative: proxy.WireCumulative{Since: since, Requests: 3, Errors: 1, Status5xx: 1, Bounds: []proxy.WireBound{{Bound: 500, N: 3, Above: 1}}},
	}}}}})
	f.Add(good)
	f.Add([]byte(`{"v":1,"replica":"f","services":[]}`))
	f.Add([]byte(`{"v":1,"replica":"leader","services":[]}`))
	f.Add([]byte(`{"v":1,"replica":"f","services":[{"service":"svc","versions":[{"version":"v","from":-9223372036854775808,"to":9223372036854775807}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		recv.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			var r Reply
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.Instance == "" {
				t.Fatalf("200 with an unreadable reply %q", rec.Body)
			}
		case http.StatusBadRequest, http.StatusConflict:
			var e struct{ Error, Code string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || !strings.Contains(e.Error, ": ") {
				t.Fatalf("%d without a JSON error naming a field: %q", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d for %q: %q", rec.Code, body, rec.Body)
		}
		now := time.Now()
		s := merged.Stats("v", now.Add(-time.Minute), now)
		c := s.Cumulative
		if s.Requests < 0 || s.Errors < 0 || c.Requests < 0 || c.Errors < 0 || s.Quantile(0.99) < 0 || s.TTFBQuantile(0.5) < 0 {
			t.Fatalf("merged snapshot %v, cumulative %+v", s, c)
		}
	})
}
