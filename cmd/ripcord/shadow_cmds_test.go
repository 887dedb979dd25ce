package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/store"
)

// TestStatusShowsShadow: status names the version in shadow, whose traffic
// it copies, and the switch's counts, and marks which version users are on.
func TestStatusShowsShadow(t *testing.T) {
	s := controller.Status{Name: "svc", Active: "v2", State: controller.StateShadowing, Verdict: "healthy", Reason: "healthy",
		Versions: []store.Version{{Name: "v1"}, {Name: "v2"}},
		Shadow: &controller.ShadowStatus{Stable: "v1", Since: time.Now(), Duration: "30s", Percent: 100, Methods: []string{"GET"},
			Counts: map[string]int64{"mirrored": 40, "sent": 39, "dropped": 1, "compared": 39, "mismatched": 3}}}
	var b bytes.Buffer
	printStatus(&b, s)
	out := b.String()
	for _, want := range []string{"shadow: v2 judged on copies of 100% of v1's [GET] requests, no user on it", "at least 30s",
		"40 mirrored, 39 answered, 1 dropped", "3 of 39 compared differ", "in shadow: copies only, no user", "live"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
