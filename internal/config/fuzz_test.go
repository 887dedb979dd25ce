package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSecret is what ${RIPCORD_FUZZ_SECRET} and secret.token hold while
// fuzzing: however a config goes wrong, no problem may quote it.
const fuzzSecret = "fuzz-s3cret-9d2b71"

// FuzzParse feeds the loader arbitrary text. It must never panic, must
// return exactly one of a config and an error, every problem must say
// something, and no message may contain a secret it resolved. Seeds are in
// testdata/fuzz/FuzzParse and the files in testdata.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"example.yaml", "three_problems.yaml"} {
		if data, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(base))
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.token"), []byte(fuzzSecret+"\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Setenv("RIPCORD_FUZZ_SECRET", fuzzSecret)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, dir, testProviders)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v: want exactly one", cfg != nil, err)
		}
		if err == nil {
			return
		}
		// A problem may quote what the user wrote (an alias name, say), so
		// text that itself spells the secret's distinctive part, in any
		// spacing a message may normalise, cannot show a leak.
		if !bytes.Contains(data, []byte("s3cret")) && strings.Contains(err.Error(), fuzzSecret) {
			t.Fatalf("a problem quotes a resolved secret:\n%v", err)
		}
		var probs Errors
		if errors.As(err, &probs) {
			if len(probs) == 0 {
				t.Fatal("Errors with no problem in it")
			}
			for _, p := range probs {
				if strings.TrimSpace(p.Msg) == "" {
					t.Fatalf("problem at %q line %d says nothing", p.Path, p.Line)
				}
			}
		}
	})
}
