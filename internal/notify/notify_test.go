package notify_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
)

func TestUpdateID(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := notify.Message{IncidentID: "INC-1", Update: notify.Updated, Status: incident.Identified, Seq: 7}
	if m.UpdateID() != "7" {
		t.Errorf("with Seq: %s", m.UpdateID())
	}
	m.Seq = 0
	a, b := m, m
	a.Event = &incident.Event{At: at, Type: incident.EvStatus, Message: "one"}
	b.Event = &incident.Event{At: at, Type: incident.EvStatus, Message: "two"}
	again := m
	again.Event = &incident.Event{At: at, Type: incident.EvStatus, Message: "one"}
	if a.UpdateID() == b.UpdateID() || a.UpdateID() != again.UpdateID() || len(a.UpdateID()) != 12 {
		t.Errorf("without Seq: %s %s", a.UpdateID(), b.UpdateID())
	}
}

func TestNetworkErrorDropsTheURL(t *testing.T) {
	cause := errors.New("connection refused")
	err := notify.NetworkError("x POST", &url.Error{Op: "Post", URL: "https://h/hook/tok-SECRET?sig=SIG", Err: cause})
	if ok, _ := notify.IsRetryable(err); !ok || !errors.Is(err, cause) || err.Error() != "x POST: connection refused" {
		t.Errorf("err = %v", err)
	}
	if got := notify.RedactURL("https://u:pw-SECRET@h/p"); got != "https://u:xxxxx@h/p" {
		t.Errorf("RedactURL = %s", got)
	}
}

// TestKeysIncludeTheInstallation: incident IDs repeat across installations,
// so keys carry the installation; an incident from before installation ids
// keeps the key it was announced with.
func TestKeysIncludeTheInstallation(t *testing.T) {
	legacy := notify.Message{IncidentID: "INC-0001"}
	if legacy.DedupKey() != "ripcord-INC-0001" || legacy.ScopedID() != "INC-0001" {
		t.Errorf("legacy keys %q %q changed", legacy.DedupKey(), legacy.ScopedID())
	}
	a := notify.Message{IncidentID: "INC-0001", Installation: "3fa2c1d9e0b4"}
	b := notify.Message{IncidentID: "INC-0001", Installation: "77aa01bc9d3e"}
	if a.DedupKey() != "ripcord-3fa2c1d9e0b4-INC-0001" || a.DedupKey() == b.DedupKey() || a.ScopedID() == b.ScopedID() {
		t.Errorf("keys %q %q must differ by installation", a.DedupKey(), b.DedupKey())
	}
}
