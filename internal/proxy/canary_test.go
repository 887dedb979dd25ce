package proxy

import (
	"fmt"
	"math"
	"net/http"
	"testing"
)

// TestStickyShareAndMonotone: over 10,000 distinct users the share on the
// canary is within ±0.5 percentage points of each step's share, and as the
// share grows no user ever moves back from the canary to stable.
func TestStickyShareAndMonotone(t *testing.T) {
	const users = 10000
	onCanary := make([]bool, users)
	for _, pct := range []int{1, 5, 25, 50, 75, 99} {
		bp := uint32(pct) * (bucketSpace / 100)
		n := 0
		for u := range users {
			in := bucket(fmt.Appendf(nil, "user-%d", u)) < bp
			if onCanary[u] && !in {
				t.Fatalf("user-%d moved back to stable at %d%%", u, pct)
			}
			onCanary[u] = in
			if in {
				n++
			}
		}
		got := 100 * float64(n) / users
		if math.Abs(got-float64(pct)) > 0.5 {
			t.Errorf("%d%% step: %.2f%% of %d users on the canary, want within ±0.5 pp", pct, got, users)
		}
	}
}

// TestStickyUnbiased: the hash is no better than chance on any one set of
// users, but never biased: over 40 sets of 10,000 random user IDs the
// share stays within 4 standard deviations at every step.
func TestStickyUnbiased(t *testing.T) {
	for set := range 40 {
		for _, pct := range []int{1, 5, 25, 50} {
			bp := uint32(pct) * (bucketSpace / 100)
			n := 0
			for u := range 10000 {
				if bucket(fmt.Appendf(nil, "%08x-%d-%x", set*7919+u, set, u*2654435761)) < bp {
					n++
				}
			}
			p := float64(pct) / 100
			sd := math.Sqrt(p * (1 - p) / 10000)
			if got := float64(n) / 10000; math.Abs(got-p) > 4*sd {
				t.Errorf("set %d, %d%%: share %.4f, more than 4σ (%.4f) off", set, pct, got, sd)
			}
		}
	}
}

func TestCookieValue(t *testing.T) {
	for _, tc := range []struct {
		header, want string
		ok           bool
	}{
		{"uid=42", "42", true},
		{"a=1; uid=abc; b=2", "abc", true},
		{`x=1;uid="q"`, "q", true},
		{"xuid=1; uidx=2", "", false},
		{"uid=", "", true},
	} {
		v, ok := cookieValue([]byte(tc.header), "uid")
		if string(v) != tc.want || ok != tc.ok {
			t.Errorf("%q: got %q %v, want %q %v", tc.header, v, ok, tc.want, tc.ok)
		}
	}
}

// TestCanaryRouting sends real requests through both serving paths: the
// per-request split lands near the share, a sticky user (header or cookie)
// always meets the same version, and 0 / 100 are plain switches.
func TestCanaryRouting(t *testing.T) {
	for _, sticky := range []Sticky{{Header: "X-User-Id"}, {Cookie: "uid"}} {
		t.Run(sticky.Header+sticky.Cookie, func(t *testing.T) {
			forEachProto(t, func(t *testing.T, c *http.Client) { testCanaryRouting(t, c, sticky) })
		})
	}
}

func testCanaryRouting(t *testing.T, c *http.Client, sticky Sticky) {
	v1, v2 := newBackend(t, named("v1")), newBackend(t, named("v2"))
	sw := newTestSwitch(t, Options{Sticky: sticky}, "v1", v1.URL, "v2", v2.URL)
	base := serve(t, sw)
	if err := sw.SetWeight("v1", "v2", 25); err != nil {
		t.Fatal(err)
	}
	if name, pct := sw.Canary(); name != "v2" || pct != 25 || sw.Active() != "v1" {
		t.Fatalf("canary %s %d%%, active %s", name, pct, sw.Active())
	}
	do := func(user string) string {
		req, _ := http.NewRequest("GET", base+"/", nil)
		switch {
		case user == "":
		case sticky.Header != "":
			req.Header.Set(sticky.Header, user)
		default:
			req.Header.Set("Cookie", "other=1; "+sticky.Cookie+"="+user)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b [8]byte
		n, _ := resp.Body.Read(b[:])
		return string(b[:n])
	}
	canary := 0
	for range 800 {
		if do("") == "v2" {
			canary++
		}
	}
	// 800 requests at 25 %: 200 expected, sd 12.2; 5 sd either side.
	if canary < 139 || canary > 261 {
		t.Errorf("per request: %d of 800 on the canary at 25%%", canary)
	}
	for u := range 40 {
		user := fmt.Sprintf("u%d", u)
		want := "v1"
		if bucket([]byte(user)) < 2500 {
			want = "v2"
		}
		for range 3 {
			if got := do(user); got != want {
				t.Fatalf("user %s met %s, want %s every time", user, got, want)
			}
		}
	}
	if s := stats(sw, "v2"); s.Requests == 0 {
		t.Error("canary requests not counted for v2")
	}
	if err := sw.SetWeight("v1", "v2", 100); err != nil || sw.Active() != "v2" {
		t.Fatalf("100%%: %v, active %s", err, sw.Active())
	}
	if name, _ := sw.Canary(); name != "" || do("") != "v2" {
		t.Fatal("100% did not make v2 the only version")
	}
	if err := sw.SetWeight("v1", "v2", 0); err != nil || sw.Active() != "v1" || do("u1") != "v1" {
		t.Fatalf("0%%: %v, active %s", err, sw.Active())
	}
}

// TestSetWeightRestartsCanaryEvidence: each new share starts the canary's
// cumulative counts from zero (a step is judged on its own requests);
// the same share again keeps them.
func TestSetWeightRestartsCanaryEvidence(t *testing.T) {
	v1, v2 := newBackend(t, named("v1")), newBackend(t, named("v2"))
	sw := newTestSwitch(t, Options{}, "v1", v1.URL, "v2", v2.URL)
	base := serve(t, sw)
	if err := sw.SetWeight("v1", "v2", 50); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{}
	for range 60 {
		get(t, c, base+"/")
	}
	cum := func() int64 { return stats(sw, "v2").Cumulative.Requests }
	before := cum()
	if before == 0 {
		t.Fatal("no canary requests counted")
	}
	if err := sw.SetWeight("v1", "v2", 50); err != nil || cum() != before {
		t.Fatalf("same share again: %v, cumulative %d → %d", err, before, cum())
	}
	if err := sw.SetWeight("v1", "v2", 60); err != nil || cum() != 0 {
		t.Fatalf("new share: %v, cumulative %d, want 0", err, cum())
	}
	for _, bad := range [][3]any{{"v1", "v1", 5}, {"v1", "v9", 5}, {"v1", "v2", 101}} {
		if err := sw.SetWeight(bad[0].(string), bad[1].(string), bad[2].(int)); err == nil {
			t.Errorf("SetWeight%v accepted", bad)
		}
	}
}
