package prometheus

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakeProm speaks enough of the Prometheus HTTP API for Client: POST
// /api/v1/query with a form-encoded query, answered from a table of canned
// responses keyed by query text.
type fakeProm struct {
	t       *testing.T
	srv     *httptest.Server
	release chan struct{}

	mu      sync.Mutex
	answers map[string]answer
	seen    []request
}

type answer struct {
	status int
	body   string
	hang   bool // never answer until the client gives up or the test ends
}

type request struct {
	query, time, timeout string
}

func newFakeProm(t *testing.T) *fakeProm {
	f := &fakeProm{t: t, answers: map[string]answer{}, release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.release)
		f.srv.Close()
	})
	return f
}

func (f *fakeProm) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.Form.Get("query")
	f.mu.Lock()
	f.seen = append(f.seen, request{q, r.Form.Get("time"), r.Form.Get("timeout")})
	a, ok := f.answers[q]
	f.mu.Unlock()
	if !ok {
		a = answer{status: http.StatusBadRequest, body: errorJSON("bad_data", "fake: no answer for "+q)}
	}
	if a.hang {
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (f *fakeProm) on(query string, a answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[query] = a
}

func (f *fakeProm) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.seen...)
}

func ok(body string) answer { return answer{status: http.StatusOK, body: body} }

func vectorJSON(values ...string) string {
	res := ""
	for i, v := range values {
		if i > 0 {
			res += ","
		}
		res += fmt.Sprintf(`{"metric":{"series":"%d"},"value":[1700000000.123,%q]}`, i, v)
	}
	return `{"status":"success","data":{"resultType":"vector","result":[` + res + `]}}`
}

func scalarJSON(v string) string {
	return fmt.Sprintf(`{"status":"success","data":{"resultType":"scalar","result":[1700000000,%q]}}`, v)
}

func errorJSON(typ, msg string) string {
	return fmt.Sprintf(`{"status":"error","errorType":%q,"error":%q}`, typ, msg)
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func background() context.Context { return context.Background() }
