package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/revert/kubernetes"
)

// TestExampleConfigMapLoads checks that deploy/kubernetes/configmap.yaml
// holds a config ripcord accepts, with both Kubernetes modes in it.
func TestExampleConfigMapLoads(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", "configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "ci")
	if err := os.WriteFile(tokens, []byte("example-token-0123456789abcdef0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Paths that exist only in the pod are moved under the test's directory.
	doc := strings.NewReplacer(
		"/var/run/ripcord/tokens/ci", tokens,
		"sqlite:///var/lib/ripcord/ripcord.db", "sqlite://"+filepath.Join(dir, "ripcord.db"),
	).Replace(cm.Data["ripcord.yaml"])
	cfg, err := config.Parse([]byte(doc), dir, Providers())
	if err != nil {
		t.Fatalf("configmap.yaml's ripcord.yaml does not load: %v", err)
	}
	modes := map[kubernetes.Mode]bool{}
	for _, s := range cfg.Services {
		if b := s.Target.Provider(); b != nil {
			k, err := config.Decode[kubernetes.Config](*b)
			if err != nil {
				t.Fatal(err)
			}
			modes[k.WithDefaults().Mode] = true
		}
	}
	if !modes[kubernetes.ModeRolloutUndo] || !modes[kubernetes.ModeServiceSelector] {
		t.Fatalf("example config shows modes %v, want both", modes)
	}
}
