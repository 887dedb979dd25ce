package proxyswitch_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/revert/proxyswitch"
)

func newSwitch(t *testing.T) *proxy.Switch {
	t.Helper()
	sw := proxy.New(proxy.Options{Service: "svc"})
	t.Cleanup(func() { _ = sw.Close() })
	for _, v := range []string{"v1", "v2"} {
		if err := sw.SetVersion(v, "http://127.0.0.1:1/"+v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sw.Activate("v2"); err != nil {
		t.Fatal(err)
	}
	return sw
}

// TestDryRunOnlyReports: a dry run says what it would switch and leaves the
// live version alone; the real revert switches, and repeating it succeeds.
func TestDryRunOnlyReports(t *testing.T) {
	sw := newSwitch(t)
	tg := proxyswitch.New(sw)
	ctx := context.Background()
	res, err := tg.Revert(ctx, revert.Request{Service: "svc", From: "v2", To: "v1", DryRun: true})
	if err != nil || !res.DryRun || res.From != "v2" || res.To != "v1" || sw.Active() != "v2" {
		t.Fatalf("dry run: %+v %v, active %s", res, err, sw.Active())
	}
	for range 2 { // idempotent: the second revert finds v1 live and succeeds
		if res, err = tg.Revert(ctx, revert.Request{Service: "svc", From: "v2", To: "v1"}); err != nil || res.DryRun {
			t.Fatalf("revert: %+v %v", res, err)
		}
	}
	if st, _ := tg.Status(ctx); st.Current != "v1" || sw.Active() != "v1" {
		t.Fatalf("after revert: %+v", st)
	}
}

func TestRevertRefusals(t *testing.T) {
	tg := proxyswitch.New(newSwitch(t))
	if _, err := tg.Revert(context.Background(), revert.Request{}); !errors.Is(err, revert.ErrNothingToRevert) {
		t.Fatalf("no target version: %v", err)
	}
	if _, err := tg.Revert(context.Background(), revert.Request{To: "v9"}); err == nil {
		t.Fatal("unknown version accepted")
	}
}

// TestSetWeightAndRevertEndsCanary: the target sets the canary's share on
// the switch, and a revert to stable takes the canary to 0 % at once.
func TestSetWeightAndRevertEndsCanary(t *testing.T) {
	sw := newSwitch(t)
	if _, err := sw.Activate("v1"); err != nil {
		t.Fatal(err)
	}
	tg := proxyswitch.New(sw)
	ctx := context.Background()
	if err := tg.SetWeight(ctx, "svc", "v1", "v2", 5); err != nil {
		t.Fatal(err)
	}
	if name, pct := sw.Canary(); name != "v2" || pct != 5 {
		t.Fatalf("canary %q %d%%", name, pct)
	}
	if _, err := tg.Revert(ctx, revert.Request{Service: "svc", From: "v2", To: "v1"}); err != nil {
		t.Fatal(err)
	}
	if name, pct := sw.Canary(); name != "" || pct != 0 || sw.Active() != "v1" {
		t.Fatalf("after revert: canary %q %d%%, active %s", name, pct, sw.Active())
	}
	if err := tg.SetWeight(ctx, "svc", "v1", "v9", 5); err == nil {
		t.Fatal("unknown canary accepted")
	}
}
