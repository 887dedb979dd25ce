package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
)

const (
	viewerTok   = "cli-test-viewer-token"
	operatorTok = "cli-test-operator-token"
)

// cli runs the command line as main does and returns its exit status and
// output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// tokenDaemon runs a real daemon with configured viewer and operator
// tokens and one service "svc" on v1 (v0 behind it), each version a real
// backend answering with its name. It returns the daemon and its --server.
func tokenDaemon(t *testing.T) (*app.App, string) {
	t.Helper()
	t.Setenv("RIPCORD_TOKEN", "")
	backend := func(name string) string {
		b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) }))
		t.Cleanup(b.Close)
		return b.URL
	}
	dir := t.TempDir()
	cfg := &config.Config{
		API: config.API{Listen: "127.0.0.1:0", Tokens: []config.Token{
			{Name: "dash", Role: config.RoleViewer, Value: viewerTok}, {Name: "sre", Role: config.RoleOperator, Value: operatorTok}}},
		Store:   config.Store{URL: "sqlite://" + filepath.Join(dir, "ripcord.db")},
		Reports: config.Reports{Dir: filepath.Join(dir, "reports")},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: config.DefaultPolicy(),
			Versions: []config.Version{{Name: "v0", URL: backend("v0")}, {Name: "v1", URL: backend("v1") + "/?key=s3cr3t"}}}},
	}
	a, err := app.New(t.Context(), cfg, app.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return a, "http://" + a.APIAddr()
}

// through fetches / through a service's switch: which version answered.
func through(t *testing.T, a *app.App, service string) string {
	t.Helper()
	resp, err := http.Get("http://" + a.ProxyAddr(service) + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestExitCodesAndMessages: every failure is one "ripcord: …" line on
// stderr and exit status 1 — usage errors before any request, API errors
// with the server's message and status — and success is 0.
func TestExitCodesAndMessages(t *testing.T) {
	_, server := tokenDaemon(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("services: []\napi: {listen: nowhere}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	op, view := []string{"--server", server, "--token", operatorTok}, []string{"--server", server, "--token", viewerTok}
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string // the first line of stderr contains this; "" = stderr is empty
	}{
		{[]string{"status"}, 0, ""},
		{append([]string{"status", "svc"}, view...), 0, ""},
		{[]string{"nope"}, 1, `ripcord: unknown command "nope" for "ripcord"`},
		{[]string{"status", "--bogus"}, 1, "ripcord: unknown flag: --bogus"},
		{[]string{"status", "a", "b"}, 1, "ripcord: accepts at most 1 arg(s), received 2"},
		{[]string{"deploy", "svc"}, 1, "ripcord: accepts 2 arg(s), received 1"},
		{[]string{"rollback"}, 1, "ripcord: accepts 1 arg(s), received 0"},
		{[]string{"pause", "a", "b"}, 1, "ripcord: accepts 1 arg(s), received 2"},
		{[]string{"report", "INC-1", "--format", "pdf"}, 1, `ripcord: --format "pdf": use md or html`},
		{[]string{"serve", "extra"}, 1, `ripcord: unknown command "extra" for "ripcord serve"`},
		{[]string{"check-config", "-c", bad}, 1, bad + ": "},
		{[]string{"demo", "--fault", "bogus"}, 1, `ripcord: demo: --fault "bogus": use one of [error latency quality none]`},
		{[]string{"demo", "--rate", "0"}, 1, "ripcord: demo: --rate 0: use 1..20000 requests per second"},
		{append([]string{"status", "nope"}, view...), 1, `ripcord: no service "nope" (known: svc) (HTTP 404)`},
		{append([]string{"pause", "svc"}, view...), 1, "ripcord: token dash has role viewer; this needs operator or higher (HTTP 403)"},
		{append([]string{"status"}, "--server", server, "--token", "wrong"), 1, "ripcord: missing or unknown bearer token"},
		{append([]string{"rollback", "svc", "--to", "v1"}, op...), 1, "ripcord: invalid request: svc is already on v1 (HTTP 409)"},
		{append([]string{"deploy", "svc", "v9"}, op...), 1, `version "v9" is new to svc: give its --url (HTTP 409)`},
		{append([]string{"deploy", "svc", "bad name"}, op...), 1, "ripcord: version: "},
		{[]string{"status", "--server", "http://127.0.0.1:1", "--token", "x"}, 1, "is `ripcord serve` running there? set --server"},
	} {
		if tc.code == 0 && len(tc.args) == 1 {
			tc.args = append(tc.args, op...)
		}
		code, _, stderr := cli(t, tc.args...)
		first, _, _ := strings.Cut(stderr, "\n")
		if code != tc.code || (tc.stderr == "" && stderr != "") || !strings.Contains(first, tc.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
		if strings.Contains(stderr, operatorTok) || strings.Contains(stderr, viewerTok) {
			t.Errorf("%v: stderr quotes a token", tc.args)
		}
	}
}

// TestDemoExitStatusSaysWhetherTheOutcomeMatched: the demo exits 2 when
// ripcord did not do what the fault calls for — here a fault watched for
// no time at all, so nothing could be rolled back — and 0 when it did
// (no fault, left alone).
func TestDemoExitStatusSaysWhetherTheOutcomeMatched(t *testing.T) {
	for _, tc := range []struct {
		fault string
		code  int
	}{{"error", 2}, {"none", 0}} {
		code, stdout, stderr := cli(t, "demo", "--fault", tc.fault, "--warmup", "0s", "--watch", "1ms", "--rate", "50", "--json")
		if code != tc.code {
			t.Fatalf("--fault %s: exit %d, want %d\n%s", tc.fault, code, tc.code, stderr)
		}
		var res struct {
			Fault      string `json:"fault"`
			RolledBack bool   `json:"rolled_back"`
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &res) != nil || res.Fault != tc.fault || res.RolledBack {
			t.Fatalf("--fault %s --json: stdout %q", tc.fault, stdout)
		}
		if tc.code == 2 && !strings.Contains(stderr, `ripcord: outcome does not match the fault "error" (rolled_back=false)`) {
			t.Fatalf("exit 2 without saying why:\n%s", stderr)
		}
		if !strings.Contains(stderr, "ripcord demo: 50 req/s") {
			t.Fatalf("--json sends the live view to stderr; it is not there:\n%s", stderr)
		}
	}
}

// TestHelpDescribesEveryCommandAndFlag: --help of the root and of each
// command exits 0 and names what a user needs; README's command table
// names every command.
func TestHelpDescribesEveryCommandAndFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		has  []string
	}{
		{[]string{"--help"}, []string{"Start here:   ripcord demo", "--server", "env RIPCORD_SERVER", "--token-file",
			"else RIPCORD_TOKEN, else --token-file", "check-config", "incidents", "report", "rollback", "resume", "ripcord drill SERVICE | --all"}},
		{[]string{"help", "status"}, []string{"status [SERVICE]", "--json"}},
		{[]string{"deploy", "--help"}, []string{"deploy SERVICE VERSION [--url URL]", "--url string", "required the first time"}},
		{[]string{"rollback", "--help"}, []string{"--to string", "--reason string", "newest older version not known to be bad"}},
		{[]string{"pause", "--help"}, []string{"pause SERVICE", "verdicts are still computed"}},
		{[]string{"resume", "--help"}, []string{"resume SERVICE", "also after an escalation"}},
		{[]string{"incidents", "--help"}, []string{"list | show ID | resolve ID [NOTE] | note ID TEXT | ack ID", "--open", "--service string", "--json"}},
		{[]string{"report", "--help"}, []string{"-o, --output string", `--format string   md or html (default "md")`}},
		{[]string{"demo", "--help"}, []string{"error|latency|quality|none", "--keep", "--retry-on-previous", "--db string",
			`--watch duration`, "It exits 0 when"}},
		{[]string{"serve", "--help"}, []string{"-c, --config string", `(default "ripcord.yaml")`}},
		{[]string{"check-config", "--help"}, []string{"-c, --config string", "starts and contacts nothing"}},
		{[]string{"drill", "--help"}, []string{"drill SERVICE | --all", "--fault string", "--share float", "at most 50%", "--json",
			"--shadow", "drills: true", "starts no\ncooldown"}},
	} {
		code, stdout, stderr := cli(t, tc.args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
		for _, h := range tc.has {
			if !strings.Contains(stdout, h) {
				t.Errorf("%v lacks %q:\n%s", tc.args, h, stdout)
			}
		}
	}
	for _, c := range newRoot().Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if !bytes.Contains(readme, []byte("`ripcord "+c.Name())) && !bytes.Contains(readme, []byte("/ `"+c.Name()+" ")) {
			t.Errorf("README's command table lacks %s", c.Name())
		}
	}
}

// TestServerFromEnvironment: RIPCORD_SERVER is the default --server (and
// help says so); the flag wins over it.
func TestServerFromEnvironment(t *testing.T) {
	_, server := tokenDaemon(t)
	t.Setenv("RIPCORD_SERVER", server)
	if code, stdout, stderr := cli(t, "status", "--token", viewerTok); code != 0 || !strings.HasPrefix(stdout, "svc: ") {
		t.Fatalf("status via RIPCORD_SERVER: exit %d %s%s", code, stdout, stderr)
	}
	if _, stdout, _ := cli(t, "status", "--help"); !strings.Contains(stdout, `(default "`+server+`")`) {
		t.Fatalf("help does not show RIPCORD_SERVER as the default:\n%s", stdout)
	}
	if code, _, stderr := cli(t, "status", "--token", viewerTok, "--server", "http://127.0.0.1:1"); code != 1 || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Fatalf("--server must win over RIPCORD_SERVER: exit %d %s", code, stderr)
	}
}

// TestExplicitEmptyTokenWins: --token "" is a choice (send none), not
// "unset": RIPCORD_TOKEN is not used then.
func TestExplicitEmptyTokenWins(t *testing.T) {
	_, server := tokenDaemon(t)
	t.Setenv("RIPCORD_TOKEN", viewerTok)
	if code, _, stderr := cli(t, "status", "--server", server); code != 0 {
		t.Fatalf("RIPCORD_TOKEN: exit %d %s", code, stderr)
	}
	if code, _, stderr := cli(t, "status", "--server", server, "--token", ""); code != 1 || !strings.Contains(stderr, "(HTTP 401)") {
		t.Fatalf("--token '': exit %d %s", code, stderr)
	}
	t.Setenv("RIPCORD_TOKEN", "")
	file := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(file, []byte("\n  "+viewerTok+"  \n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := cli(t, "status", "--server", server, "--token-file", file); code != 0 {
		t.Fatalf("--token-file with whitespace around the token: exit %d %s", code, stderr)
	}
}

// TestStatusOutput follows the service through the states status shows:
// the version table with masked URLs, a pause, and a rollback's incident,
// known-bad mark and cooldown; --json is the API's statuses.
func TestStatusOutput(t *testing.T) {
	a, server := tokenDaemon(t)
	op := []string{"--server", server, "--token", operatorTok}
	status := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := cli(t, append(append([]string{"status"}, args...), op...)...)
		if code != 0 {
			t.Fatalf("status %v: exit %d %s", args, code, stderr)
		}
		return stdout
	}
	out := status()
	for _, re := range []string{`(?m)^svc: stable on v1 since \d\d:\d\d:\d\d$`, `(?m)^  verdict: `, `(?m)^  VERSION\s+URL\s+STATUS$`,
		`(?m)^  v0\s+http://127\.0\.0\.1:\d+\s*$`, `(?m)^  v1\s+http://127\.0\.0\.1:\d+/\?key=\*\*\*\s+active$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status lacks %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, "s3cr3t") || strings.Contains(out, "AUTOMATION PAUSED") || strings.Contains(out, "incident:") {
		t.Errorf("fresh status:\n%s", out)
	}
	if code, _, stderr := cli(t, append([]string{"pause", "svc"}, op...)...); code != 0 {
		t.Fatal(stderr)
	}
	if out = status("svc"); !strings.Contains(out, "AUTOMATION PAUSED (ripcord resume svc)") {
		t.Errorf("paused status:\n%s", out)
	}
	code, stdout, stderr := cli(t, append([]string{"rollback", "svc", "--reason", "bad canary"}, op...)...)
	m := regexp.MustCompile(`^svc: now on v0 \(incident (INC-\d+)\)\n$`).FindStringSubmatch(stdout)
	if code != 0 || m == nil {
		t.Fatalf("rollback: exit %d %q %s", code, stdout, stderr)
	}
	out = status()
	for _, want := range []string{"incident: " + m[1], "cooldown until ", "known-bad: bad canary"} {
		if !strings.Contains(out, want) {
			t.Errorf("status after the rollback lacks %q:\n%s", want, out)
		}
	}
	if got := through(t, a, "svc"); got != "v0" {
		t.Errorf("the switch serves %q after the CLI rollback", got)
	}
	var list []controller.Status
	if err := json.Unmarshal([]byte(status("--json")), &list); err != nil || len(list) != 1 || list[0].Active != "v0" || !list[0].Paused {
		t.Fatalf("status --json: %+v %v", list, err)
	}
	if err := json.Unmarshal([]byte(status("svc", "--json")), &list); err != nil || len(list) != 1 || list[0].IncidentID != m[1] {
		t.Fatalf("status svc --json: %+v %v", list, err)
	}
}

// TestOperatorCommandsMoveTraffic: deploy, rollback, pause and resume say
// what they did in one line, and the switch serves what they said.
func TestOperatorCommandsMoveTraffic(t *testing.T) {
	a, server := tokenDaemon(t)
	v2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "v2") }))
	defer v2.Close()
	op := []string{"--server", server, "--token", operatorTok}
	for _, step := range []struct {
		args    []string
		stdout  string // a regexp for the whole output
		serving string
	}{
		{[]string{"deploy", "svc", "v2", "--url", v2.URL}, `^svc: v2 is live and being watched\n$`, "v2"},
		{[]string{"pause", "svc"}, `^svc: automation paused on v2\n$`, "v2"},
		{[]string{"resume", "svc"}, `^svc: automation resumed, watching on v2\n$`, "v2"},
		{[]string{"rollback", "svc"}, `^svc: now on v1 \(incident INC-\d+\)\n$`, "v1"},
		{[]string{"rollback", "svc", "--to", "v2", "--reason", "v1 was fine"}, `^svc: now on v2 \(incident INC-\d+\)\n$`, "v2"},
		{[]string{"deploy", "svc", "v0"}, `^svc: v0 is live and being watched\n$`, "v0"},
	} {
		code, stdout, stderr := cli(t, append(step.args, op...)...)
		if code != 0 || !regexp.MustCompile(step.stdout).MatchString(stdout) {
			t.Fatalf("%v: exit %d %q %s", step.args, code, stdout, stderr)
		}
		if got := through(t, a, "svc"); got != step.serving {
			t.Fatalf("after %v the switch serves %q, want %q", step.args, got, step.serving)
		}
	}
}

// TestIncidentsCommands: list (empty, filtered, JSON), show, note, ack and
// resolve against real incidents, and the usage errors of the
// subcommands. An ack of a rollback's incident — identified as soon as its
// revert completes — is a note, not a refused status move.
func TestIncidentsCommands(t *testing.T) {
	a, server := tokenDaemon(t)
	op := []string{"--server", server, "--token", operatorTok}
	inc := func(args ...string) (int, string, string) {
		t.Helper()
		return cli(t, append(append([]string{"incidents"}, args...), op...)...)
	}
	if code, stdout, _ := inc(); code != 0 || stdout != "no incidents\n" {
		t.Fatalf("empty list: %d %q", code, stdout)
	}
	_, stdout, _ := cli(t, append([]string{"rollback", "svc", "--to", "v0", "--reason", "latency"}, op...)...)
	id := regexp.MustCompile(`INC-\d+`).FindString(stdout)
	for _, tc := range []struct {
		args []string
		re   string // must match stdout
	}{
		{nil, `(?m)^ID\s+SERVICE\s+SEVERITY\s+STATUS\s+OPENED\s+TITLE\n` + id + `\s+svc\s+minor\s+identified\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+svc: manual rollback v1 → v0\n$`},
		{[]string{"list", "--open", "--service", "svc"}, `(?m)^` + id + `\s`},
		{[]string{"list", "--service", "other"}, `^no incidents\n$`},
		{[]string{"show", id}, `(?s)^` + id + `  svc: manual rollback v1 → v0  \[minor, identified\]\nreason: latency\nversions: v1 → v0\n.*detected: .*timeline:\n  \d\d:\d\d:\d\d\.\d{3}  `},
		{[]string{"note", id, "cache", "was", "cold"}, `(?m)^  \d\d:\d\d:\d\d\.\d{3}  note\s+sre\s+cache was cold$`},
		{[]string{"ack", id}, `(?m)\[minor, identified\]\n(?s:.*)  note\s+sre\s+acknowledged$`},
		{[]string{"resolve", id, "rolled", "forward"}, `(?m)\[minor, resolved\]\n(?s:.*)^resolved: .*(?s:.*)status identified → resolved: rolled forward$`},
		{[]string{"--open"}, `^no incidents\n$`},
	} {
		code, stdout, stderr := inc(tc.args...)
		if code != 0 || !regexp.MustCompile(tc.re).MatchString(stdout) {
			t.Errorf("incidents %v: exit %d %s\n%s\nwant /%s/", tc.args, code, stderr, stdout, tc.re)
		}
	}
	_, stdout, _ = inc("show", id, "--json")
	var got incident.Incident
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || got.ID != id || got.Status != incident.Resolved {
		t.Fatalf("show --json: %v %q", err, stdout)
	}
	var list []incident.Incident
	if _, stdout, _ = inc("list", "--json"); json.Unmarshal([]byte(stdout), &list) != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("list --json: %q", stdout)
	}
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"show"}, "ripcord: incidents show needs an incident ID (see `ripcord incidents list`)"},
		{[]string{"resolve"}, "ripcord: incidents resolve needs an incident ID"},
		{[]string{"note", id}, "ripcord: incidents note " + id + " needs the note text"},
		{[]string{"frob", id}, `ripcord: unknown incidents action "frob": use list, show, resolve, note or ack`},
		{[]string{"show", "INC-9999"}, `ripcord: no incident "INC-9999" (list them with ` + "`ripcord incidents`" + `) (HTTP 404)`},
		{[]string{"resolve", id}, "is resolved; it cannot move to resolved (HTTP 409)"},
		{[]string{"ack", id}, "is resolved; it cannot move to identified (HTTP 409)"},
	} {
		code, stdout, stderr := inc(tc.args...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("incidents %v: exit %d %q %q, want %q", tc.args, code, stdout, stderr, tc.stderr)
		}
	}
	// An incident still being investigated is moved on by an ack.
	at := time.Now()
	open, err := a.Store().CreateIncident(t.Context(), incident.Incident{Service: "svc", Kind: incident.KindBlind, Severity: incident.Major,
		Status: incident.Investigating, Title: "svc: flying blind", CreatedAt: at, UpdatedAt: at,
		Events: []incident.Event{{At: at, Type: incident.EvOpened, Actor: "ripcord"}}})
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := inc("ack", open)
	if code != 0 || !regexp.MustCompile(`(?m)\[major, identified\]\n(?s:.*)status investigating → identified: acknowledged$`).MatchString(stdout) {
		t.Errorf("ack of an investigating incident: exit %d %s\n%s", code, stderr, stdout)
	}
	view := []string{"--server", server, "--token", viewerTok}
	if code, _, stderr := cli(t, append([]string{"incidents", "note", id, "x"}, view...)...); code != 1 || !strings.Contains(stderr, "(HTTP 403)") {
		t.Errorf("a viewer's note: exit %d %s", code, stderr)
	}
	if code, _, _ := cli(t, append([]string{"incidents", "show", id}, view...)...); code != 0 {
		t.Errorf("a viewer cannot show an incident")
	}
}

// TestReportCommand: markdown to stdout, HTML to a file with "wrote" on
// stderr and no permissions for others, and a write error that names the
// file.
func TestReportCommand(t *testing.T) {
	_, server := tokenDaemon(t)
	op := []string{"--server", server, "--token", operatorTok}
	_, stdout, _ := cli(t, append([]string{"rollback", "svc", "--to", "v0"}, op...)...)
	id := regexp.MustCompile(`INC-\d+`).FindString(stdout)
	code, stdout, stderr := cli(t, append([]string{"report", id}, op...)...)
	if code != 0 || !strings.HasPrefix(stdout, "# "+id+" — svc: manual rollback v1 → v0\n") || stderr != "" {
		t.Fatalf("report md: exit %d %.200q %s", code, stdout, stderr)
	}
	file := filepath.Join(t.TempDir(), "r.html")
	code, stdout, stderr = cli(t, append([]string{"report", id, "--format", "html", "-o", file}, op...)...)
	if code != 0 || stdout != "" || stderr != "wrote "+file+"\n" {
		t.Fatalf("report -o: exit %d %q %q", code, stdout, stderr)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm()&0o007 != 0 {
		t.Fatalf("report file: %v %v", fi.Mode(), err)
	}
	body, _ := os.ReadFile(file)
	if !strings.Contains(strings.ToLower(string(body)), "<!doctype html>") || !strings.Contains(string(body), id) {
		t.Fatalf("report file is not the HTML report: %.200q", body)
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "r.md")
	if code, _, stderr := cli(t, append([]string{"report", id, "-o", missing}, op...)...); code != 1 || !strings.Contains(stderr, "ripcord: write "+missing+": ") {
		t.Fatalf("report to a missing dir: exit %d %s", code, stderr)
	}
}

// TestServerErrorsAreCleaned: an error message from the server (or
// anything in front of it) cannot put escape sequences on the terminal
// through stderr.
func TestServerErrorsAreCleaned(t *testing.T) {
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `{"error":"\u001b]0;owned\u0007\u001b[2Jbusy\r\u009b1A now","code":"conflict"}`)
	}))
	defer hostile.Close()
	code, _, stderr := cli(t, "pause", "svc", "--server", hostile.URL, "--token", "t")
	if code != 1 || stderr != "ripcord: ]0;owned[2Jbusy1A now (HTTP 409)\n" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestCleanWriter: what passes and what is dropped, byte for byte.
func TestCleanWriter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text\n", "plain text\n"},
		{"tab\tand\nnewline", "tab\tand\nnewline"},
		{"bell\a back\b cr\r ff\f vt\v nul\x00", "bell back cr ff vt nul"},
		{"\x1b[31mred\x1b[0m", "[31mred[0m"},
		{"del\x7f", "del"},
		{"c1 \u0085\u009b\u009f end", "c1  end"},
		{"unicode é ü 中文 🙂 \u00a0nbsp", "unicode é ü 中文 🙂 \u00a0nbsp"},
		{"bad utf-8 \xff\xfe kept", "bad utf-8 \xff\xfe kept"},
		{"", ""},
	} {
		var b bytes.Buffer
		n, err := cleanWriter(&b).Write([]byte(tc.in))
		if err != nil || n != len(tc.in) || b.String() != tc.want {
			t.Errorf("%q: wrote %q (n=%d, %v), want %q", tc.in, b.String(), n, err, tc.want)
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestCleanWriterPassesErrorsOn(t *testing.T) {
	if n, err := cleanWriter(failWriter{}).Write([]byte("x")); n != 0 || err != os.ErrClosed {
		t.Fatalf("n=%d err=%v", n, err)
	}
}
