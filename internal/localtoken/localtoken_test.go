package localtoken

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKeepsOneTokenPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", FileName)
	var wg sync.WaitGroup
	toks := make([]string, 8)
	errs := make([]error, 8)
	for i := range toks { // daemons racing on one store agree on one token
		wg.Go(func() { toks[i], errs[i] = LoadOrCreate(path) })
	}
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] != toks[0] {
			t.Fatalf("racing LoadOrCreate: %q %v, first %q", toks[i], errs[i], toks[0])
		}
	}
	if len(toks[0]) != 64 {
		t.Fatalf("token %d chars, want 64 hex", len(toks[0]))
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v, want 0600", st.Mode(), err)
	}
	if again, err := LoadOrCreate(path); err != nil || again != toks[0] {
		t.Fatalf("reload: %v", err)
	}
	// A file others may read is refused, naming the fix, and not quoting it.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadOrCreate(path)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), toks[0]) {
		t.Fatalf("world-readable token file: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); err == nil || !strings.Contains(err.Error(), "does not hold a token") {
		t.Fatalf("garbage token file: %v", err)
	}
}

func TestPath(t *testing.T) {
	if got := Path("/var/lib/ripcord/ripcord.db", "/state"); got != "/var/lib/ripcord/admin.token" {
		t.Errorf("beside the store: %s", got)
	}
	if got := Path(":memory:", "/state"); got != "/state/admin.token" {
		t.Errorf("memory store: %s", got)
	}
}

func TestStateDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if d, _ := StateDir(); d != "/x/state/ripcord" {
		t.Errorf("XDG_STATE_HOME: %s", d)
	}
	t.Setenv("XDG_STATE_HOME", "relative") // the spec says to ignore it
	t.Setenv("HOME", "/home/u")
	if d, _ := StateDir(); d != "/home/u/.local/state/ripcord" {
		t.Errorf("default: %s", d)
	}
}

func TestFindResolvesServerToPointer(t *testing.T) {
	state := t.TempDir()
	tokFile := filepath.Join(t.TempDir(), FileName)
	tok, err := LoadOrCreate(tokFile)
	if err != nil {
		t.Fatal(err)
	}
	remove, err := WritePointer(state, netip.MustParseAddrPort("127.0.0.1:7070"), tokFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, server := range []string{"127.0.0.1:7070", "localhost:7070"} {
		got, file, err := Find(state, server)
		if err != nil || got != tok || file != tokFile {
			t.Errorf("Find(%s) = %q, %v", server, file, err)
		}
	}
	if _, _, err := Find(state, "127.0.0.1:7071"); !errors.Is(err, ErrNoLocalToken) {
		t.Errorf("another port: %v", err)
	}
	// A newer daemon on the same address replaced the pointer: ours must not
	// remove it.
	other := filepath.Join(t.TempDir(), FileName)
	if _, err := LoadOrCreate(other); err != nil {
		t.Fatal(err)
	}
	removeOther, err := WritePointer(state, netip.MustParseAddrPort("127.0.0.1:7070"), other)
	if err != nil {
		t.Fatal(err)
	}
	remove()
	if _, file, err := Find(state, "127.0.0.1:7070"); err != nil || file != other {
		t.Fatalf("the older daemon's shutdown removed the newer pointer: %q %v", file, err)
	}
	removeOther()
	if _, _, err := Find(state, "127.0.0.1:7070"); !errors.Is(err, ErrNoLocalToken) {
		t.Fatalf("pointer left after removal: %v", err)
	}
	if _, err := WritePointer(state, netip.MustParseAddrPort("[::1]:7070"), tokFile); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Find(state, "[::1]:7070"); err != nil {
		t.Fatalf("IPv6 pointer: %v", err)
	}
}
