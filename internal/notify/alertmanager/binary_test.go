package alertmanager

import (
	"os"
	"os/exec"
	"testing"

	"github.com/ripcord/ripcord/internal/testenv"
)

// alertmanagerBinary finds a real Alertmanager: $ALERTMANAGER_BIN, else
// prometheus-alertmanager (the Debian package's /usr/bin name) or
// alertmanager on PATH. Without one the test fails (apt-get install
// prometheus-alertmanager) rather than silently stop testing against the
// real thing; RIPCORD_SKIP=alertmanager skips it (internal/testenv).
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ALERTMANAGER_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("ALERTMANAGER_BIN=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Missing(t, testenv.Alertmanager, "no Alertmanager binary: apt-get install -y prometheus-alertmanager, or set ALERTMANAGER_BIN")
	return ""
}
