package exec

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// DefaultOutputCap is how much of each of stdout and stderr is kept.
const DefaultOutputCap = 64 << 10

// capped keeps the first max bytes written and counts the rest, so a
// chatty program can neither fill memory nor block on a full pipe.
type capped struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.max - len(c.buf)
	if room > len(p) {
		room = len(p)
	}
	if room > 0 {
		c.buf = append(c.buf, p[:room]...)
	}
	c.dropped += int64(len(p) - max(room, 0))
	return len(p), nil
}

// String is what was kept, with a note when some was cut.
func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := string(c.buf)
	if c.dropped > 0 {
		s += fmt.Sprintf("\n[… %d more bytes cut: output is capped at %d bytes]", c.dropped, c.max)
	}
	return s
}

// credentialPatterns find credentials a program may print without
// ripcord knowing their values: HTTP auth schemes, userinfo in URLs, and
// key=value pairs whose key says secret.
var credentialPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}`), "${1}${2}<redacted>"},
	{regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^/\s:@]*):[^/\s@]+@`), "${1}:<redacted>@"},
	{regexp.MustCompile(`(?i)\b([a-z0-9_-]*(?:password|passwd|secret|token|api[_-]?key)[a-z0-9_-]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s"',;]+)`), "${1}${2}<redacted>"},
}

// Scrubber removes known secret values and anything that looks like a
// credential from text bound for the timeline.
type Scrubber struct {
	secrets []string // longest first, so a secret containing another goes whole
}

// NewScrubber scrubs the given values (empty ones are ignored).
func NewScrubber(secrets ...string) Scrubber {
	var s []string
	for _, v := range secrets {
		if v = strings.TrimSpace(v); v != "" {
			s = append(s, v)
		}
	}
	sort.Slice(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
	return Scrubber{secrets: s}
}

// Scrub returns text with every secret replaced by <redacted>.
func (s Scrubber) Scrub(text string) string {
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, "<redacted>")
	}
	for _, p := range credentialPatterns {
		text = p.re.ReplaceAllString(text, p.repl)
	}
	return text
}
