package e2e

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/config"
)

// syncBuffer is a log sink safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestAPIRolesAndSecrets(t *testing.T) {
	secrets := map[string]string{
		config.RoleViewer:   "viewer-secret-6f1c2a",
		config.RoleOperator: "operator-secret-91b7d3",
		config.RoleAdmin:    "admin-secret-0c44e8",
	}
	logs := &syncBuffer{}
	e := &env{t: t, dbPath: t.TempDir() + "/r.db",
		logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2")
	e.cfg = &config.Config{
		API:   config.API{Listen: "127.0.0.1:0"},
		Store: config.Store{URL: "sqlite://" + e.dbPath},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: fastPolicy(),
			Versions: []config.Version{{Name: "v1", URL: v1.srv.URL}}}},
	}
	for role, secret := range secrets {
		e.cfg.API.Tokens = append(e.cfg.API.Tokens, config.Token{Name: role + "-token", Role: role, Value: secret})
	}
	e.boot()
	base := "http://" + e.app.APIAddr()
	as := func(role string) *apiclient.Client { return apiclient.New(base, secrets[role]) }
	ctx := t.Context()

	tests := []struct {
		name   string
		call   func() error
		status int // 0 = success
	}{
		{"no token read", func() error { _, err := apiclient.New(base, "").Services(ctx); return err }, http.StatusUnauthorized},
		{"wrong token read", func() error { _, err := apiclient.New(base, "nope").Services(ctx); return err }, http.StatusUnauthorized},
		{"viewer read", func() error { _, err := as(config.RoleViewer).Services(ctx); return err }, 0},
		{"viewer deploy", func() error { _, err := as(config.RoleViewer).Deploy(ctx, "svc", "v2", v2.srv.URL); return err }, http.StatusForbidden},
		{"viewer pause", func() error { _, err := as(config.RoleViewer).Pause(ctx, "svc"); return err }, http.StatusForbidden},
		{"no token rollback", func() error { _, err := apiclient.New(base, "").Rollback(ctx, "svc", "", ""); return err }, http.StatusUnauthorized},
		{"operator deploy", func() error { _, err := as(config.RoleOperator).Deploy(ctx, "svc", "v2", v2.srv.URL); return err }, 0},
		{"operator pause", func() error { _, err := as(config.RoleOperator).Pause(ctx, "svc"); return err }, 0},
		{"admin resume", func() error { _, err := as(config.RoleAdmin).Resume(ctx, "svc"); return err }, 0},
		{"operator rollback", func() error { _, err := as(config.RoleOperator).Rollback(ctx, "svc", "v1", "test"); return err }, 0},
		{"rollback to itself conflicts", func() error { _, err := as(config.RoleOperator).Rollback(ctx, "svc", "v1", ""); return err }, http.StatusConflict},
		{"unknown service", func() error { _, err := as(config.RoleViewer).Service(ctx, "nope"); return err }, http.StatusNotFound},
		{"deploy without url", func() error { _, err := as(config.RoleOperator).Deploy(ctx, "svc", "v9", ""); return err }, http.StatusConflict},
	}
	for _, tt := range tests {
		err := tt.call()
		var apiErr *apiclient.Error
		switch {
		case tt.status == 0 && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.status != 0 && (!errors.As(err, &apiErr) || apiErr.Status != tt.status):
			t.Errorf("%s: got %v, want HTTP %d", tt.name, err, tt.status)
		case apiErr != nil && apiErr.Message == "":
			t.Errorf("%s: error without a message", tt.name)
		}
	}
	incs, err := as(config.RoleViewer).Incidents(ctx, "svc", false)
	if err != nil || len(incs) != 1 || incs[0].Kind != "manual" {
		t.Fatalf("manual rollback incident: %+v %v", incs, err)
	}
	e.stop()
	for _, secret := range secrets {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("a token reached the log")
		}
	}
}
