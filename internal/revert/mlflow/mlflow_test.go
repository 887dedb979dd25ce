package mlflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/revert/retry"
)

const testToken = "dapi-T0kEn-9f8e7d6c5b4a"

var fast = retry.Policy{Base: time.Millisecond, Max: 5 * time.Millisecond, Attempts: 5}

func tokenFile(t testing.TB, token string) field.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mlflow.token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return field.File(p)
}

// setup starts a registry with versions 1–3 READY, 4 FAILED_REGISTRATION,
// and champion at 3.
func setup(t testing.TB, opts ...Option) (*registry, *Target) {
	t.Helper()
	r := newRegistry(t, testToken, "summarizer")
	for v := 1; v <= 3; v++ {
		r.add(strconv.Itoa(v), "READY", nil)
	}
	r.add("4", "FAILED_REGISTRATION", nil)
	r.setAliasTo("champion", "3")
	tg, err := New(Config{URL: r.srv.URL + "/", Model: "summarizer", Alias: "champion", TokenFile: tokenFile(t, testToken)},
		append([]Option{WithRetry(fast), WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r, tg
}

func TestVersionsOldestFirstWithTagsAcrossPages(t *testing.T) {
	r, tg := setup(t)
	for v := 5; v <= 12; v++ {
		r.add(strconv.Itoa(v), "READY", map[string]string{TagSchemaMin: "40", TagSchemaMax: strconv.Itoa(30 + v), "team": "nlp"})
	}
	r.with(func() { r.pageSize = 5 })
	vs, err := tg.Versions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Version)
	}
	if want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}; !slices.Equal(got, want) {
		t.Errorf("versions %v, want %v", got, want)
	}
	if min, max := vs[11].SchemaRange(); min != "40" || max != "42" || vs[11].Tags["team"] != "nlp" {
		t.Errorf("v12 schema range %q..%q tags %v", min, max, vs[11].Tags)
	}
	if min, max := vs[0].SchemaRange(); min != "" || max != "" {
		t.Errorf("v1 has no tags, got %q..%q", min, max)
	}
	if vs[3].Ready() || !vs[2].Ready() || !slices.Equal(vs[2].Aliases, []string{"champion"}) || vs[2].RunID != "run3" || vs[2].Created.IsZero() {
		t.Errorf("v3 %+v, v4 %+v", vs[2], vs[3])
	}
	want := []string{
		"GET model-versions/search?filter=name%3D%27summarizer%27&max_results=1000",
		"GET model-versions/search?filter=name%3D%27summarizer%27&max_results=1000&page_token=NQ%3D%3D",
		"GET model-versions/search?filter=name%3D%27summarizer%27&max_results=1000&page_token=MTA%3D",
	}
	if got := r.requests(); !slices.Equal(got, want) {
		t.Errorf("requests\n%q\nwant\n%q", got, want)
	}
}

func TestRevertMovesTheAliasAndReadsItBack(t *testing.T) {
	r, tg := setup(t)
	if st, err := tg.Status(context.Background()); err != nil || st.Current != "3" {
		t.Fatalf("status %+v %v", st, err)
	}
	res, err := tg.Revert(context.Background(), revert.Request{Service: "summarizer", From: "3", To: "2", Reason: "quality 0.61 < 0.80"})
	if err != nil {
		t.Fatal(err)
	}
	if res.From != "3" || res.To != "2" || res.Duration <= 0 || res.DryRun {
		t.Errorf("result %+v", res)
	}
	want := []string{
		"GET registered-models/alias?alias=champion&name=summarizer",
		"GET registered-models/alias?alias=champion&name=summarizer",
		"GET model-versions/get?name=summarizer&version=2",
		"POST registered-models/alias?",
		"GET registered-models/alias?alias=champion&name=summarizer",
	}
	if got := r.requests(); !slices.Equal(got, want) {
		t.Errorf("requests\n%q\nwant\n%q", got, want)
	}
	if r.alias("champion") != "2" {
		t.Errorf("alias at %s", r.alias("champion"))
	}
	// Again: already there, nothing written.
	if res, err := tg.Revert(context.Background(), revert.Request{From: "3", To: "2"}); err != nil || res.From != "2" {
		t.Fatalf("re-run: %+v %v", res, err)
	}
	if n := r.count("POST"); n != 1 {
		t.Errorf("%d POSTs, want 1: a re-run must not write", n)
	}
}

func TestDryRunChecksButWritesNothing(t *testing.T) {
	r, tg := setup(t)
	res, err := tg.Revert(context.Background(), revert.Request{From: "3", To: "1", DryRun: true})
	if err != nil || !res.DryRun || res.From != "3" {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := tg.Revert(context.Background(), revert.Request{To: "9", DryRun: true}); !errors.Is(err, ErrNotFound) {
		t.Errorf("dry run to a missing version: %v", err)
	}
	if n := r.count("POST"); n != 0 || r.alias("champion") != "3" {
		t.Errorf("dry run wrote: %d POSTs, alias %s", n, r.alias("champion"))
	}
}

func TestRevertRefuses(t *testing.T) {
	r, tg := setup(t)
	for _, tc := range []struct {
		name string
		req  revert.Request
		want error
		text string
	}{
		{"failed registration", revert.Request{From: "3", To: "4"}, ErrNotReady, "version 4 of summarizer is FAILED_REGISTRATION"},
		{"no such version", revert.Request{From: "3", To: "9"}, ErrNotFound, "RESOURCE_DOES_NOT_EXIST: Model Version (name=summarizer, version=9) not found"},
		{"not a number", revert.Request{To: "v2"}, ErrBadVersion, `"v2"`},
		{"alias moved by a deploy", revert.Request{From: "2", To: "1"}, ErrMoved, "is at version 3, not 2"},
		{"nothing", revert.Request{From: "3"}, revert.ErrNothingToRevert, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tg.Revert(context.Background(), tc.req)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v with %q", err, tc.want, tc.text)
			}
		})
	}
	if n := r.count("POST"); n != 0 {
		t.Errorf("%d POSTs for refused reverts", n)
	}
}

func TestVerifyCatchesAConcurrentMove(t *testing.T) {
	r, tg := setup(t)
	r.with(func() { r.afterSet = func() { r.aliases["champion"] = "3" } }) // someone puts it back
	_, err := tg.Revert(context.Background(), revert.Request{From: "3", To: "2"})
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "set summarizer@champion to 2, read back 3") {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingAliasAndModel(t *testing.T) {
	for _, is404 := range []bool{false, true} {
		t.Run(fmt.Sprintf("404=%v", is404), func(t *testing.T) {
			r, tg := setup(t)
			r.with(func() {
				r.missingAlias404 = is404
				delete(r.aliases, "champion")
				r.aliases["challenger"] = "2"
			})
			_, err := tg.Status(context.Background())
			if !errors.Is(err, ErrAliasNotFound) || !strings.Contains(err.Error(), `model "summarizer" has no alias "champion"`) ||
				!strings.Contains(err.Error(), "fix alias") || !strings.Contains(err.Error(), "Registered model alias champion not found.") {
				t.Fatalf("status: %v", err)
			}
			if _, err := tg.Revert(context.Background(), revert.Request{To: "1"}); !errors.Is(err, ErrAliasNotFound) {
				t.Errorf("revert: %v", err)
			}
			err = tg.Check(context.Background())
			if !errors.Is(err, ErrAliasNotFound) || !strings.Contains(err.Error(), "(its aliases: challenger→2)") {
				t.Errorf("check: %v", err)
			}
			if n := r.count("GET registered-models/alias"); n != 2 {
				t.Errorf("a missing alias was retried: %d GETs", n)
			}
		})
	}
	r, _ := setup(t)
	tg, err := New(Config{URL: r.srv.URL, Model: "sumarizer", Alias: "champion", TokenFile: tokenFile(t, testToken)})
	if err != nil {
		t.Fatal(err)
	}
	err = tg.Check(context.Background())
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `registered model "sumarizer" does not exist`) || !strings.Contains(err.Error(), "HTTP 404 RESOURCE_DOES_NOT_EXIST") {
		t.Errorf("check: %v", err)
	}
	if err := (func() error { _, tg := setup(t); return tg.Check(context.Background()) })(); err != nil {
		t.Errorf("check of a good config: %v", err)
	}
}

func TestRetriesHonourRetryAfter(t *testing.T) {
	r, tg := setup(t)
	r.inject("POST registered-models/alias", fault{429, "1", "REQUEST_LIMIT_EXCEEDED"}, fault{503, "", "TEMPORARILY_UNAVAILABLE"})
	r.inject("GET registered-models/alias", fault{500, "", "INTERNAL_ERROR"})
	start := time.Now()
	if _, err := tg.Revert(context.Background(), revert.Request{From: "3", To: "1"}); err != nil {
		t.Fatal(err)
	}
	// A lower bound only: the client waited at least what Retry-After asked.
	if took := time.Since(start); took < time.Second {
		t.Errorf("retried within %v despite Retry-After: 1", took)
	}
	if n := r.count("POST"); n != 3 || r.alias("champion") != "1" {
		t.Errorf("%d POSTs, alias %s", n, r.alias("champion"))
	}

	r.inject("GET registered-models/alias", fault{503, "", "TEMPORARILY_UNAVAILABLE"}, fault{503, "", "TEMPORARILY_UNAVAILABLE"},
		fault{503, "", "TEMPORARILY_UNAVAILABLE"}, fault{503, "", "TEMPORARILY_UNAVAILABLE"}, fault{503, "", "TEMPORARILY_UNAVAILABLE"})
	_, err := tg.Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "HTTP 503 TEMPORARILY_UNAVAILABLE") || !strings.Contains(err.Error(), "gave up after 5 attempts") {
		t.Errorf("503s: %v", err)
	}
	r.inject("GET registered-models/alias", fault{403, "", "PERMISSION_DENIED"})
	before := r.count("GET registered-models/alias")
	if _, err := tg.Status(context.Background()); err == nil || !strings.Contains(err.Error(), "PERMISSION_DENIED") {
		t.Errorf("403: %v", err)
	}
	if n := r.count("GET registered-models/alias") - before; n != 1 {
		t.Errorf("a 403 was tried %d times", n)
	}
}

func TestRetryAfterPastTheTimeoutFailsAtOnce(t *testing.T) {
	r, _ := setup(t)
	tg, err := New(Config{URL: r.srv.URL, Model: "summarizer", Alias: "champion", TokenFile: tokenFile(t, testToken), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.inject("GET registered-models/alias", fault{429, "3600", "REQUEST_LIMIT_EXCEEDED"})
	_, err = tg.Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "HTTP 429 REQUEST_LIMIT_EXCEEDED") || !strings.Contains(err.Error(), "after the deadline") {
		t.Errorf("err = %v", err)
	}
}

func TestPollNoticesMovesOutsideRipcord(t *testing.T) {
	r, tg := setup(t)
	ctx := context.Background()
	if cur, changed, err := tg.Poll(ctx); err != nil || cur != "3" || changed {
		t.Fatalf("first poll %s %v %v", cur, changed, err)
	}
	if _, changed, _ := tg.Poll(ctx); changed {
		t.Error("unchanged alias reported as moved")
	}
	if _, err := tg.Revert(ctx, revert.Request{From: "3", To: "2"}); err != nil {
		t.Fatal(err)
	}
	if cur, changed, _ := tg.Poll(ctx); changed || cur != "2" {
		t.Errorf("ripcord's own revert reported as a deploy: %s %v", cur, changed)
	}
	r.setAliasTo("champion", "3") // a deploy
	if cur, changed, _ := tg.Poll(ctx); !changed || cur != "3" {
		t.Errorf("deploy missed: %s %v", cur, changed)
	}

	moves := make(chan [2]string, 1)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- tg.Watch(wctx, 5*time.Millisecond, func(from, to string) { moves <- [2]string{from, to} })
	}()
	// Wait until Watch has read the alias once, then deploy.
	for before := r.count("GET registered-models/alias"); r.count("GET registered-models/alias") < before+2; {
		time.Sleep(time.Millisecond)
	}
	r.setAliasTo("champion", "1")
	if m := <-moves; m != [2]string{"3", "1"} {
		t.Errorf("watch saw %v", m)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("watch returned %v", err)
	}
}

// TestWatchNoticesAMoveBeforeItsFirstPoll: a move made after start-up read
// the alias but before the watcher first polled (a slow start) is a move.
func TestWatchNoticesAMoveBeforeItsFirstPoll(t *testing.T) {
	r, tg := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if cur, _, err := tg.Poll(ctx); err != nil || cur != "3" {
		t.Fatalf("start-up read %s %v", cur, err)
	}
	r.setAliasTo("champion", "1")
	moves := make(chan [2]string, 1)
	go func() { _ = tg.Watch(ctx, time.Hour, func(from, to string) { moves <- [2]string{from, to} }) }()
	select {
	case m := <-moves:
		if m != [2]string{"3", "1"} {
			t.Errorf("watch saw %v, want 3 → 1", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the move made before the watcher's first poll was never reported")
	}
}

func TestTokenStaysSecret(t *testing.T) {
	r, _ := setup(t)
	var logs bytes.Buffer
	file := tokenFile(t, testToken)
	tg, err := New(Config{URL: r.srv.URL, Model: "summarizer", Alias: "champion", TokenFile: field.File(file)},
		WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))), WithRetry(fast))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Revert(context.Background(), revert.Request{From: "3", To: "2"}); err != nil {
		t.Fatal(err)
	}
	// A proxy that echoes the request's credentials in its error page.
	echo := newRegistry(t, testToken, "summarizer")
	echo.inject("GET registered-models/alias", fault{400, "", "BAD_REQUEST echo Authorization: Bearer " + testToken})
	tg2, _ := New(Config{URL: echo.srv.URL, Model: "summarizer", Alias: "champion", TokenFile: field.File(file)})
	_, err = tg2.Status(context.Background())
	out := fmt.Sprintf("%v %+v %s %v %s", err, err, tg, tg, logs.String())
	if err == nil || strings.Contains(out, testToken) {
		t.Errorf("token leaked or no error: %s", out)
	}
	// A rotated token is used at once.
	if err := os.WriteFile(string(file), []byte("rotated-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.with(func() { r.token = "rotated-token" })
	if _, err := tg.Status(context.Background()); err != nil {
		t.Errorf("after rotation: %v", err)
	}
	// Token file problems name the file, not the content.
	for content, want := range map[string]string{"": "is empty", "a\nb": "more than one line"} {
		if err := os.WriteFile(string(file), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := New(Config{URL: r.srv.URL, Model: "m", Alias: "a", TokenFile: field.File(file)})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), string(file)) {
			t.Errorf("%q: %v", content, err)
		}
	}
	if _, err := New(Config{URL: r.srv.URL, Model: "m", Alias: "a", TokenFile: "/nonexistent/tok"}); err == nil || !strings.Contains(err.Error(), "token_file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestNoTokenMeansNoAuthorization(t *testing.T) {
	r := newRegistry(t, "", "summarizer")
	r.add("1", "READY", nil)
	r.setAliasTo("champion", "1")
	tg, err := New(Config{URL: r.srv.URL, Model: "summarizer", Alias: "champion"})
	if err != nil {
		t.Fatal(err)
	}
	// The registry wants "Bearer " (its empty token) and fails the test on
	// anything else; no header at all must reach it as no header.
	req, _ := tg.request(context.Background(), http.MethodGet, "registered-models/alias", nil, nil, "")
	if req.Header.Get("Authorization") != "" {
		t.Errorf("Authorization %q without a token", req.Header.Get("Authorization"))
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{}, []string{"url is not an absolute", "model is required", "alias is required"}},
		{Config{URL: "https://u:p@mlflow", Model: "m", Alias: "a"}, []string{"url carries credentials"}},
		{Config{URL: "https://mlflow/api/2.0/mlflow", Model: "m", Alias: "a"}, []string{"includes /api/2.0"}},
		{Config{URL: "https://mlflow", Model: "it's", Alias: "latest"}, []string{"model \"it's\" holds a quote", "alias \"latest\" is reserved"}},
		{Config{URL: "https://mlflow", Model: "m", Alias: "V3"}, []string{"is reserved"}},
		{Config{URL: "https://mlflow", Model: "m", Alias: "champion", TokenFile: "mlflow.token", Timeout: -1}, []string{"token_file \"mlflow.token\" is not absolute", "timeout -1ns is negative"}},
	} {
		err := tc.cfg.Validate()
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v, want %q", tc.cfg, err, w)
			}
		}
	}
	if err := (Config{URL: "https://mlflow.acme.internal", Model: "summarizer", Alias: "champion", TokenFile: "/etc/ripcord/mlflow.token"}).Validate(); err != nil {
		t.Errorf("the issue's example: %v", err)
	}
}
