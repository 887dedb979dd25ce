package proxy

import (
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDrillFaults: for each fault kind, on both request paths, exactly the
// requests the switch counts as the drill's are the ones the client saw
// the fault on, the rest reach the active version untouched, the drill
// version's statistics carry the fault, and after EndDrill no request is
// faulted.
func TestDrillFaults(t *testing.T) {
	body := strings.Repeat("x", 4096)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Quality-Score", "0.9")
		io.WriteString(w, body)
	})
	for _, f := range []DrillFault{
		{Kind: FaultError},
		{Kind: FaultLatency, Delay: 30 * time.Millisecond},
		{Kind: FaultQuality, Header: "X-Quality-Score", Value: "0.1"},
		{Kind: FaultStream},
	} {
		t.Run(f.Kind, func(t *testing.T) {
			forEachProto(t, func(t *testing.T, c *http.Client) {
				sw := newTestSwitch(t, Options{Service: "s", Headers: map[string]string{"quality_score": "X-Quality-Score"}}, "v1", b.URL)
				base := serve(t, sw)
				name, err := sw.StartDrill("v1", 2000, f, false) // 20 %
				if err != nil {
					t.Fatal(err)
				}
				if name != "v1~drill" || !sw.DrillShare() {
					t.Fatalf("drill version %q, share live %v", name, sw.DrillShare())
				}
				const n = 300
				faulted := 0
				for range n {
					if drilled(t, c, base, f) {
						faulted++
					}
				}
				snap := stats(sw, name)
				counts, err := sw.EndDrill()
				if err != nil {
					t.Fatal(err)
				}
				if int(counts.Affected) != faulted || counts.Affected+counts.Live != n || counts.EndedAt.IsZero() {
					t.Fatalf("client saw %d faulted of %d; switch counts %+v", faulted, n, counts)
				}
				// 20 % of 300: 60 ± 6.9; 5 sigma either side.
				if faulted < 25 || faulted > 95 {
					t.Errorf("%d of %d requests drilled at a 20%% share", faulted, n)
				}
				switch f.Kind {
				case FaultError, FaultStream:
					if snap.Errors != int64(faulted) {
						t.Errorf("drill version recorded %d errors, want %d", snap.Errors, faulted)
					}
				}
				for range 50 {
					if drilled(t, c, base, f) {
						t.Fatal("a request was faulted after EndDrill")
					}
				}
				if _, err := sw.EndDrill(); err == nil {
					t.Error("a second EndDrill succeeded")
				}
			})
		})
	}
}

// drilled sends one request and reports whether the fault reached it.
func drilled(t *testing.T, c *http.Client, base string, f DrillFault) bool {
	t.Helper()
	resp, err := c.Get(base + "/")
	if err != nil {
		if f.Kind == FaultStream {
			return true
		}
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	got, rerr := io.ReadAll(resp.Body)
	mark := resp.Header.Get("X-Ripcord-Drill")
	switch f.Kind {
	case FaultError:
		return resp.StatusCode == http.StatusServiceUnavailable && mark == "error"
	case FaultStream:
		if rerr == nil && len(got) == 4096 {
			return false
		}
		return mark == "stream"
	case FaultQuality:
		if mark == "" && resp.Header.Get("X-Quality-Score") != "0.9" {
			t.Fatalf("undrilled answer has quality %q", resp.Header.Get("X-Quality-Score"))
		}
		return mark == "quality" && resp.Header.Get("X-Quality-Score") == "0.1"
	}
	if rerr != nil || len(got) != 4096 {
		t.Fatalf("body %d bytes, %v", len(got), rerr)
	}
	return mark == f.Kind
}

// TestDrillQualitySignal: the switch's header signal for the drill version
// is the degraded value, and the active version's is untouched.
func TestDrillQualitySignal(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Quality-Score", "0.9")
		io.WriteString(w, "ok")
	})
	sw := newTestSwitch(t, Options{Service: "s", Headers: map[string]string{"quality_score": "X-Quality-Score"}}, "v1", b.URL)
	base := serve(t, sw)
	name, err := sw.StartDrill("v1", 5000, DrillFault{Kind: FaultQuality, Header: "X-Quality-Score", Value: "0.1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		get(t, http.DefaultClient, base+"/")
	}
	now := time.Now()
	dm, dn, _ := sw.HeaderSignal(name, "quality_score", now.Add(-time.Minute), now)
	am, an, _ := sw.HeaderSignal("v1", "quality_score", now.Add(-time.Minute), now)
	if dn == 0 || math.Abs(dm-0.1) > 1e-9 || an == 0 || math.Abs(am-0.9) > 1e-9 {
		t.Fatalf("drill quality %.2f over %d, active %.2f over %d", dm, dn, am, an)
	}
	if _, err := sw.EndDrill(); err != nil {
		t.Fatal(err)
	}
}

// TestDrillRefusals: a share over 50 %, an unknown fault, a drill of a
// version that is not active, and a second drill are refused; Activate
// ends a drill's share.
func TestDrillRefusals(t *testing.T) {
	b := newBackend(t, named("v1"))
	sw := newTestSwitch(t, Options{Service: "s"}, "v1", b.URL, "v0", b.URL)
	for _, tc := range []struct {
		version string
		bp      int
		f       DrillFault
		want    string
	}{
		{"v1", 5001, DrillFault{Kind: FaultError}, "at most 50%"},
		{"v1", 0, DrillFault{Kind: FaultError}, "want 1–5000"},
		{"v1", 500, DrillFault{Kind: "slow"}, "want error, latency, quality or stream"},
		{"v1", 500, DrillFault{Kind: FaultQuality}, "without a header"},
		{"v0", 500, DrillFault{Kind: FaultError}, "not the active version"},
	} {
		if _, err := sw.StartDrill(tc.version, tc.bp, tc.f, false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("StartDrill(%s, %d, %+v) = %v, want %q", tc.version, tc.bp, tc.f, err, tc.want)
		}
	}
	if _, err := sw.StartDrill("v1", 500, DrillFault{Kind: FaultError}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := sw.StartDrill("v1", 500, DrillFault{Kind: FaultError}, false); err == nil {
		t.Error("a second drill started")
	}
	if _, err := sw.Activate("v1"); err != nil {
		t.Fatal(err)
	}
	if sw.DrillShare() {
		t.Error("Activate left the drill share live")
	}
	if _, err := sw.EndDrill(); err != nil {
		t.Errorf("EndDrill after Activate: %v", err)
	}
}

// TestDrillWrapperServesOnlyTheSwitch: a request straight to the wrapper's
// port without the switch's key is refused and not counted; paths and
// queries reach the version as the client sent them.
func TestDrillWrapperServesOnlyTheSwitch(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.RequestURI()) })
	sw := newTestSwitch(t, Options{Service: "s"}, "v1", b.URL+"/base")
	base := serve(t, sw)
	name, err := sw.StartDrill("v1", 5000, DrillFault{Kind: FaultLatency, Delay: time.Millisecond}, false)
	if err != nil {
		t.Fatal(err)
	}
	wrapper := (*sw.versions.Load())[name].target
	sw.mu.Lock()
	hits := sw.drill.hits
	sw.mu.Unlock()
	for hits.Load() == 0 {
		code, got := get(t, http.DefaultClient, base+"/a%2Fb/c?q=1")
		if code != 200 || got != "/base/a%2Fb/c?q=1" {
			t.Fatalf("through the switch: %d %q", code, got)
		}
	}
	before := hits.Load()
	direct := "http://" + wrapper.Host + "/a"
	if code, _ := get(t, http.DefaultClient, direct); code != http.StatusNotFound {
		t.Fatalf("straight to the wrapper without the key: %d", code)
	}
	counts, err := sw.EndDrill()
	if err != nil {
		t.Fatal(err)
	}
	if counts.Affected != before {
		t.Fatalf("wrapper counted %d, %d before the direct request", counts.Affected, before)
	}
}

// TestShadowDrill: a drill on shadow copies faults no user request on
// either path; the wrapper gets copies, its statistics carry the fault,
// and EndDrill stops the copies and counts them.
func TestShadowDrill(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	forEachProto(t, func(t *testing.T, c *http.Client) {
		sw := newTestSwitch(t, Options{Service: "s"}, "v1", b.URL)
		base := serve(t, sw)
		name, err := sw.StartDrill("v1", 0, DrillFault{Kind: FaultError}, true)
		if err != nil {
			t.Fatal(err)
		}
		if !sw.DrillShare() {
			t.Fatal("shadow drill not live")
		}
		if _, err := sw.StartDrill("v1", 500, DrillFault{Kind: FaultError}, false); err == nil {
			t.Error("a second drill started beside a shadow drill")
		}
		const n = 100
		for range n {
			if drilled(t, c, base, DrillFault{Kind: FaultError}) {
				t.Fatal("a user's request was faulted by a shadow drill")
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for stats(sw, name).Errors < n/2 {
			if time.Now().After(deadline) {
				t.Fatalf("the wrapper's statistics show %d errors from %d copied requests", stats(sw, name).Errors, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		counts, err := sw.EndDrill()
		if err != nil {
			t.Fatal(err)
		}
		if counts.Affected < n/2 || counts.Affected > n || counts.Live != n {
			t.Errorf("counts %+v: want about %d copies and %d live requests", counts, n, n)
		}
		if sw.DrillShare() {
			t.Error("shadow drill still live after EndDrill")
		}
		if _, ok := sw.Shadowing(); ok {
			t.Error("the copies go on after EndDrill")
		}
	})
}
