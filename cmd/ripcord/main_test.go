package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

func TestCheckConfigReportsEveryProblemWithLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	bad := `api:
  listen: 0.0.0.0:7070
services:
  - name: llm-api
    proxy: {listen: 127.0.0.1:8080}
    versions:
      - {name: v1, url: http://127.0.0.1:9001}
    active: v9
    policy:
      window: 10 seconds
      thresholds:
        error_rate: {max: 5}
        made_up_metric: {max: 1}
  - name: k8s
    target:
      kubernetes:
        namespace: llm
        mode: canary
notify:
  channels:
    - {name: pager, pagerduty: {routing_key: hunter2-literal}}
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLI(t, "check-config", "-c", path)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{
		"api.listen: line 2",
		"services[0].active: line 8",
		"services[0].policy.window: line 10",
		"services[0].policy.thresholds.error_rate.max: line 12",
		"services[0].policy.thresholds.made_up_metric: line 13",
		`services[1].target.kubernetes.mode: line 18: must be rollout-undo, service-selector or httproute, not "canary"`,
		"notify.channels[0].pagerduty.routing_key: line 21: must be an environment reference",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("output lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "hunter2") {
		t.Errorf("check-config repeats a literal secret:\n%s", stderr)
	}
	out, _, err := runCLI(t, "check-config", "-c", "../../internal/config/testdata/example.yaml")
	if err != nil || !strings.Contains(out, "ok (1 service(s)") {
		t.Fatalf("the documented example does not check out: %v %s", err, out)
	}
}

// TestDemoOutcomes runs the real demo, shortened, for a fault and for none:
// the JSON contract on the last stdout line and the exit status.
func TestDemoOutcomes(t *testing.T) {
	for _, tc := range []struct {
		fault    string
		rollback bool
	}{{"error", true}, {"none", false}} {
		t.Run(tc.fault, func(t *testing.T) {
			out, stderr, err := runCLI(t, "demo", "--fault", tc.fault, "--warmup", "500ms", "--watch", "2s", "--json")
			if err != nil {
				t.Fatalf("demo --fault %s: %v\n%s", tc.fault, err, stderr)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var res struct {
				Fault         string  `json:"fault"`
				RolledBack    bool    `json:"rolled_back"`
				RevertSeconds float64 `json:"revert_seconds"`
				TotalRequests int64   `json:"total_requests"`
				IncidentID    string  `json:"incident_id"`
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
				t.Fatalf("last line is not JSON: %q", lines[len(lines)-1])
			}
			if res.RolledBack != tc.rollback || res.TotalRequests < 300 {
				t.Fatalf("result %+v", res)
			}
			if tc.rollback && (res.IncidentID == "" || res.RevertSeconds <= 0 || res.RevertSeconds > 2) {
				t.Fatalf("rollback result %+v", res)
			}
		})
	}
}
