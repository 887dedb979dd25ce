package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
)

// TestBaselineComparison: latency judged against the previous version, not
// a fixed line. 3× slower than v1 is reverted; 10% slower is not.
func TestBaselineComparison(t *testing.T) {
	for _, tc := range []struct {
		name     string
		v2       time.Duration
		rollback bool
	}{{"three times slower", 60 * time.Millisecond, true}, {"ten percent slower", 22 * time.Millisecond, false}} {
		t.Run(tc.name, func(t *testing.T) {
			pol := fastPolicy()
			pol.Require = 1
			pol.Thresholds = map[string]config.Threshold{
				"latency_p50_ms": {Baseline: &config.Baseline{MaxIncrease: ptr(0.5), Confidence: 0.99, Tolerance: 0.1}},
			}
			v1, v2 := newBackend(t, "v1").slow(20*time.Millisecond), newBackend(t, "v2").slow(tc.v2)
			e := start(t, pol, v1)
			stop := e.load(200)
			defer stop()
			e.served(v1, 300) // v1's window before the deploy is the baseline
			e.deploy(v2)
			if tc.rollback {
				s := e.waitFor("rollback", 10*time.Second, active("v1"))
				if r := e.incident(s.IncidentID).Reason; !strings.Contains(r, "vs baseline") {
					t.Fatalf("reason %q does not compare with the baseline", r)
				}
				return
			}
			e.served(v2, 600) // 3 s at 200 req/s
			if s := e.judged(3); s.Active != "v2" || len(e.incidents()) != 0 {
				t.Fatalf("10%% slower was acted on: %+v", s)
			}
		})
	}
}
