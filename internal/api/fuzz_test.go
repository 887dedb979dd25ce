package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/incident"
)

// fuzzEndpoints is every JSON endpoint; {name} and {id} take the fuzzed
// path element.
var fuzzEndpoints = []struct{ method, path string }{
	{"GET", "/api/v1/services"},
	{"GET", "/api/v1/services/{name}"},
	{"GET", "/api/v1/services/{name}/decisions"},
	{"POST", "/api/v1/services/{name}/deploy"},
	{"POST", "/api/v1/services/{name}/rollback"},
	{"POST", "/api/v1/services/{name}/pause"},
	{"POST", "/api/v1/services/{name}/resume"},
	{"POST", "/api/v1/services/{name}/signals"},
	{"GET", "/api/v1/incidents"},
	{"GET", "/api/v1/incidents/{id}"},
	{"GET", "/api/v1/incidents/{id}/report"},
	{"POST", "/api/v1/incidents/{id}/notes"},
	{"POST", "/api/v1/incidents/{id}/status"},
	{"POST", "/api/v1/incidents/{id}/resolve"},
}

// FuzzAPIRequest sends every endpoint arbitrary path elements, query
// strings and bodies, as an operator, to a real API over a real controller
// and store. Whatever arrives: no panic, no 500 (bad input is the
// client's error), every error is the API's JSON error shape, every JSON
// answer parses, and the credentials in a version URL never appear.
// Seeds are in testdata/fuzz/FuzzAPIRequest.
func FuzzAPIRequest(f *testing.F) {
	fx := newFixture(f)
	now := time.Now()
	if _, err := fx.store.CreateIncident(f.Context(), incident.Incident{Service: "svc", Kind: incident.KindRollback,
		Severity: incident.Major, Status: incident.Investigating, CreatedAt: now, UpdatedAt: now,
		Events: []incident.Event{{At: now, Type: incident.EvOpened, Message: "opened"}}}); err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), "", "limit=5", []byte(nil))
	f.Add(uint8(2), "svc", "limit=-1", []byte(nil))
	f.Add(uint8(3), "svc", "", []byte(`{"version":"v3","url":"http://127.0.0.1:9/"}`))
	f.Add(uint8(4), "svc", "", []byte(`{"to":"v0","reason":"bad"}`))
	f.Add(uint8(7), "svc", "", []byte(`{"version":"v1","values":{"quality_score":0.5},"samples":10}`))
	f.Add(uint8(8), "", "service=svc&open=true&kind=rollback&limit=2", []byte(nil))
	f.Add(uint8(11), "INC-0001", "", []byte(`{"text":"note"}`))
	f.Add(uint8(12), "INC-0001", "", []byte(`{"status":"monitoring","note":"watching"}`))
	f.Add(uint8(10), "INC-0001", "format=html", []byte(nil))
	f.Fuzz(func(t *testing.T, endpoint uint8, elem, query string, body []byte) {
		ep := fuzzEndpoints[int(endpoint)%len(fuzzEndpoints)]
		path := strings.NewReplacer("{name}", url.PathEscape(elem), "{id}", url.PathEscape(elem)).Replace(ep.path)
		req, err := http.NewRequestWithContext(t.Context(), ep.method, "http://ripcord"+path, bytes.NewReader(body))
		if err != nil {
			return // not a request any client could send
		}
		req.URL.RawQuery = query
		req.Header.Set("Authorization", "Bearer "+operatorToken)
		if ep.method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		fx.handler.ServeHTTP(rec, req)
		checkFuzzReply(t, ep.method+" "+path+"?"+query, rec, string(body)+elem+query)
	})
}

func checkFuzzReply(t *testing.T, what string, rec *httptest.ResponseRecorder, input string) {
	t.Helper()
	out := rec.Body.Bytes()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d %s", what, rec.Code, out)
	}
	if rec.Code >= 400 {
		var e api.Error
		if err := json.Unmarshal(out, &e); err != nil || e.Code == "" || e.Error == "" {
			t.Fatalf("%s: %d with a body that is not the API's error shape: %q (%v)", what, rec.Code, out, err)
		}
	}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(out) {
		t.Fatalf("%s: %d application/json that does not parse: %q", what, rec.Code, out)
	}
	if !strings.Contains(input, "s3cret") && bytes.Contains(out, []byte("s3cret")) {
		t.Fatalf("%s: the answer shows a version URL's credentials: %s", what, out)
	}
}
