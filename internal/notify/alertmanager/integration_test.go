package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
)

// amConfig routes everything to a receiver with no integrations.
const amConfig = `route:
  receiver: "null"
receivers:
  - name: "null"
`

// startAlertmanager runs a real Alertmanager on a free loopback port with
// clustering off and storage in a temp dir, and returns its base URL.
func startAlertmanager(t *testing.T) string {
	bin := alertmanagerBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(amConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin,
		"--config.file="+cfg,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=", // empty disables clustering
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	eventually(t, 15*time.Second, "alertmanager ready", func() error {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	})
	return base
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func eventually(t *testing.T, within time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gettable is the part of GET /api/v2/alerts this test reads.
type gettable struct {
	Labels   map[string]string `json:"labels"`
	EndsAt   time.Time         `json:"endsAt"`
	StartsAt time.Time         `json:"startsAt"`
	Status   struct {
		State string `json:"state"` // active, suppressed or unprocessed
	} `json:"status"`
}

// listAlerts returns the incident's alerts. Alertmanager's API omits alerts
// whose endsAt has passed, whatever the active/silenced/inhibited filters
// say, so a resolved alert is one that is no longer listed.
func listAlerts(t *testing.T, base, incidentID string) []gettable {
	q := url.Values{"filter": {fmt.Sprintf("incident_id=%q", incidentID)}}
	resp, err := http.Get(base + "/api/v2/alerts?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []gettable
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v2/alerts: HTTP %d: %v", resp.StatusCode, err)
	}
	return out
}

// receivedResolved reads alertmanager_alerts_received_total{status="resolved",version="v2"}
// from /metrics: proof the resolve arrived as a resolve, not as nothing.
func receivedResolved(t *testing.T, base string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "alertmanager_alerts_received_total{") && strings.Contains(line, `status="resolved"`) && strings.Contains(line, `version="v2"`) {
			return line[strings.LastIndex(line, " ")+1:]
		}
	}
	return "0"
}

func TestRealAlertmanager(t *testing.T) {
	base := startAlertmanager(t)
	n, err := New(Config{URL: base}, WithState(&notify.MemState{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := fmt.Sprintf("it-%d", time.Now().UnixNano())
	m := notify.Message{
		Update: notify.Opened, IncidentID: id, Service: "checkout", Severity: incident.Major,
		Status: incident.Investigating, Title: "checkout error rate 9.1%", Reason: "error_rate 9.1% > 2%",
		At: time.Now().Add(-time.Minute),
	}
	if err := n.Notify(ctx, m); err != nil {
		t.Fatal(err)
	}
	activeWith := func(sev string) func() error {
		return func() error {
			as := listAlerts(t, base, id)
			if len(as) != 1 || as[0].Status.State != "active" || as[0].Labels["severity"] != sev {
				return fmt.Errorf("alerts = %+v, want one active with severity %s", as, sev)
			}
			if as[0].Labels["alertname"] != AlertName || as[0].Labels["service"] != "checkout" {
				return fmt.Errorf("labels = %v", as[0].Labels)
			}
			if !as[0].EndsAt.After(time.Now().Add(DefaultAlertTTL - time.Hour)) {
				return fmt.Errorf("endsAt = %s, want about now+%s", as[0].EndsAt, DefaultAlertTTL)
			}
			return nil
		}
	}
	eventually(t, 10*time.Second, "trigger shows as active", activeWith("major"))

	m.Update, m.Severity = notify.Updated, incident.Critical
	if err := n.Notify(ctx, m); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "severity change leaves only the critical alert", activeWith("critical"))

	before := receivedResolved(t, base)
	m.Update, m.Status, m.At = notify.Resolved, incident.Resolved, time.Now()
	if err := n.Notify(ctx, m); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "resolve removes the alert from the active list", func() error {
		if as := listAlerts(t, base, id); len(as) != 0 {
			return fmt.Errorf("alerts = %+v, want none", as)
		}
		return nil
	})
	if after := receivedResolved(t, base); after == before {
		t.Errorf("alertmanager_alerts_received_total{status=resolved} stayed at %s", after)
	}
}
