package ha

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/store/postgres"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openStore(t *testing.T) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestForwardWithoutLeader: while nobody holds the lease a follower
// answers reads itself and refuses writes with 503 and Retry-After,
// never applying them; its own /healthz is never forwarded.
func TestForwardWithoutLeader(t *testing.T) {
	r := New(openStore(t), config.HA{Replica: "a", Advertise: "http://127.0.0.1:1", LeaseTTL: time.Second, Shards: 1}, nil)
	applied := 0
	h := r.Forward(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost {
			applied++
		}
		_, _ = w.Write([]byte("local"))
	}))
	for _, tt := range []struct {
		method, path string
		code         int
		body         string
	}{
		{http.MethodGet, "/api/v1/services/svc", 200, "local"},
		{http.MethodGet, "/healthz", 200, "local"},
		{http.MethodPost, "/api/v1/services/svc/deploy", 503, "no replica is acting"},
		{http.MethodPost, "/api/v1/incidents/INC-0001/notes", 503, "no replica is acting"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader("{}")))
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.body) {
			t.Errorf("%s %s: %d %q, want %d containing %q", tt.method, tt.path, rec.Code, rec.Body.String(), tt.code, tt.body)
		}
		if tt.code == 503 && rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 without Retry-After", tt.method, tt.path)
		}
	}
	if applied != 0 {
		t.Fatalf("%d writes applied by a replica that does not act", applied)
	}
}

// TestOneLeaderAndHandOver: of two replicas contending for one shard
// exactly one acts; when it stops (releasing the lease) the other acts
// with the next epoch, and the first's term had ended before.
func TestOneLeaderAndHandOver(t *testing.T) {
	st := openStore(t)
	type term struct {
		replica     string
		start, stop time.Time
	}
	terms := make(chan term, 10)
	act := func(name string) Acting {
		return func(ctx context.Context, _ int) {
			t0 := time.Now()
			<-ctx.Done()
			terms <- term{name, t0, time.Now()}
		}
	}
	cfg := func(n string) config.HA {
		return config.HA{Replica: n, Advertise: "http://" + n, LeaseTTL: 500 * time.Millisecond, Shards: 1}
	}
	a, b := New(st, cfg("a"), nil), New(st, cfg("b"), nil)
	actx, stopA := context.WithCancel(context.Background())
	bctx, stopB := context.WithCancel(context.Background())
	defer stopB()
	aDone := make(chan struct{})
	go func() { a.Run(actx, act("a")); close(aDone) }()
	for ch := a.Changed(); !a.Leads(0); ch = a.Changed() { // a alone: it takes the lease
		<-ch
	}
	go b.Run(bctx, act("b"))
	stopA()
	<-aDone
	first := <-terms
	for ch := b.Changed(); !b.Leads(0); ch = b.Changed() {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("b never acted after a stopped")
		}
	}
	if first.replica != "a" || a.Leads(0) {
		t.Fatalf("first term %+v; a still leads: %v", first, a.Leads(0))
	}
	l, ok := b.Term(0).Current()
	if !ok || l.Epoch != 2 || l.Holder != "b" {
		t.Fatalf("b's lease %+v, want epoch 2", l)
	}
}
