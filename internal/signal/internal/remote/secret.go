package remote

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxSecret bounds a secret file, so pointing a key file at the wrong
// (large) file fails fast.
const maxSecret = 4 << 10

// ReadSecret reads a one-line secret from an absolute path. Errors name
// the file and say how to fix it; they never contain its contents.
func ReadSecret(path string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("%s is not an absolute path", path)
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s does not exist: create it with the key on one line, or fix the path", path)
	}
	if err != nil {
		return "", fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecret+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	case len(b) > maxSecret:
		return "", fmt.Errorf("%s is larger than 4 KiB: is it the right file?", path)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty: write the key on one line", path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s holds more than one line: write only the key", path)
	}
	return s, nil
}
