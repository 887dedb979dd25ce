package statuspage

import (
	"encoding/json"
	"testing"

	"github.com/ripcord/ripcord/internal/notify"
)

// TestLookupTellsInstallationsApart: a page shared by two installations
// holds an INC-0001 of each; the look-up must find only its own, and an
// incident created before installation ids must still be found by its bare
// ID.
func TestLookupTellsInstallationsApart(t *testing.T) {
	mine := notify.Message{IncidentID: "INC-0001", Installation: "aaaaaaaaaaaa", Service: "svc", Update: notify.Opened}
	other := notify.Message{IncidentID: "INC-0001", Installation: "bbbbbbbbbbbb", Service: "svc", Update: notify.Opened}
	legacy := notify.Message{IncidentID: "INC-0001", Service: "svc", Update: notify.Opened}
	created := func(m notify.Message) *incidentResp {
		md, _ := json.Marshal(metadata(m))
		return &incidentResp{ID: "x", Name: m.Service, Metadata: md}
	}
	for _, tt := range []struct {
		name   string
		inc    *incidentResp
		lookup notify.Message
		want   bool
	}{
		{"own", created(mine), mine, true},
		{"other installation", created(other), mine, false},
		{"legacy by legacy", created(legacy), legacy, true},
		{"legacy by new", created(legacy), mine, false},
		{"legacy marker only", &incidentResp{Name: "svc " + marker("INC-0001")}, legacy, true},
	} {
		if got := tt.inc.ours(tt.lookup.ScopedID()); got != tt.want {
			t.Errorf("%s: ours = %v, want %v", tt.name, got, tt.want)
		}
	}
}
