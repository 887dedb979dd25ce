package testenv

import "testing"

func TestSkipped(t *testing.T) {
	t.Setenv("RIPCORD_SKIP", " Kubernetes, prometheus")
	for c, want := range map[string]bool{Kubernetes: true, Prometheus: true, Alertmanager: false} {
		if Skipped(c) != want {
			t.Errorf("Skipped(%s) = %v", c, !want)
		}
	}
	t.Setenv("RIPCORD_SKIP", "")
	if Skipped(Kubernetes) {
		t.Error("skipped with RIPCORD_SKIP unset")
	}
}
