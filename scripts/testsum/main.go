// Command testsum reads `go test -json` on stdin and prints what a person
// needs from a long run: package results, the full output of every failed
// test, every skipped test with its reason, and one closing line
// "N passed, N failed, N skipped" — with what RIPCORD_SKIP opted out of
// named above it, so a green run cannot hide a suite that did not run.
//
// A test still running when its package dies (the -timeout panic, a
// crash) never gets a result event; it counts as failed and its log is
// printed with only its own goroutines from the dump, so a hang names the
// line it hung on instead of "0 failed".
//
// Usage: go test -json ./... | go run ./scripts/testsum
// It exits 1 when a test or a package failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// event is one line of test2json output.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type summary struct {
	passed, failed, skipped int
	failedPkgs              int
	output                  map[string][]string // package/test → output lines
	running                 map[string][]string // package → tests started and not ended
	failures                []string            // "pkg Test" of every failed test
	skips                   []string            // "pkg Test: reason"
	optedOut                map[string]int      // component → skipped tests
}

func main() {
	s := run(os.Stdin, os.Stdout)
	if s.failed > 0 || s.failedPkgs > 0 {
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) *summary {
	s := &summary{output: map[string][]string{}, running: map[string][]string{}, optedOut: map[string]int{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			fmt.Fprintln(out, sc.Text()) // not JSON: go itself talking
			continue
		}
		s.add(out, e)
	}
	s.finish(out)
	return s
}

func (s *summary) add(out io.Writer, e event) {
	key := e.Package + " " + e.Test
	switch {
	case e.Action == "build-output":
		fmt.Fprint(out, e.Output)
	case e.Test == "" && e.Action == "output":
		// Package lines: "ok  pkg 1.2s", "FAIL pkg", panics outside a test.
		if t := strings.TrimSpace(e.Output); t != "PASS" && t != "FAIL" && !strings.HasPrefix(t, "=== ") {
			fmt.Fprint(out, e.Output)
		}
	case e.Test == "" && e.Action == "fail":
		s.failedPkgs++
		s.unfinished(out, e.Package)
	case e.Test == "": // a package's pass, or skip for having no tests
	case e.Action == "run":
		s.running[e.Package] = append(s.running[e.Package], e.Test)
	case e.Action == "output":
		s.output[key] = append(s.output[key], e.Output)
	case e.Action == "pass":
		s.passed++
		s.ended(e)
		delete(s.output, key)
	case e.Action == "fail":
		s.failed++
		s.ended(e)
		s.failures = append(s.failures, key)
		fmt.Fprintf(out, "--- FAIL %s %s\n%s", e.Package, e.Test, strings.Join(s.output[key], ""))
		delete(s.output, key)
	case e.Action == "skip":
		s.skipped++
		s.ended(e)
		reason := skipReason(s.output[key])
		s.skips = append(s.skips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason))
		if c, ok := optedOut(reason); ok {
			s.optedOut[c]++
		}
		delete(s.output, key)
	}
}

func (s *summary) ended(e event) {
	r := s.running[e.Package]
	for i, t := range r {
		if t == e.Test {
			s.running[e.Package] = append(r[:i], r[i+1:]...)
			return
		}
	}
}

// unfinished reports the tests of a failed package that never ended: the
// timeout panic or crash output was attributed to one of them.
func (s *summary) unfinished(out io.Writer, pkg string) {
	for _, t := range s.running[pkg] {
		key := pkg + " " + t
		s.failed++
		s.failures = append(s.failures, key+" (did not finish)")
		fmt.Fprintf(out, "--- DID NOT FINISH %s %s\n%s", pkg, t, ownStacks(s.output[key]))
		delete(s.output, key)
	}
	delete(s.running, pkg)
}

// ownStacks keeps a test's log and, from a goroutine dump in it, only the
// goroutines whose stack passes through a _test.go file: the rest of a
// daemon's dump runs to thousands of lines and says nothing about the hang.
func ownStacks(lines []string) string {
	var b strings.Builder
	var block []string
	flush := func() {
		if slices.ContainsFunc(block, func(l string) bool { return strings.Contains(l, "_test.go:") }) {
			b.WriteString(strings.Join(block, ""))
			b.WriteString("\n")
		}
		block = nil
	}
	inDump := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "goroutine ") && strings.HasSuffix(strings.TrimSpace(l), ":"):
			flush()
			inDump = true
			block = append(block, l)
		case inDump && strings.TrimSpace(l) == "":
			flush()
		case inDump && block != nil:
			block = append(block, l)
		case inDump: // between goroutines: "FAIL pkg" and the like
		default:
			b.WriteString(l)
		}
	}
	flush()
	return b.String()
}

// skipReason is the message the test skipped with.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		if _, rest, found := strings.Cut(l, ".go:"); found { // "x_test.go:12: why"
			if _, why, ok := strings.Cut(rest, ": "); ok {
				return why
			}
		}
		return l
	}
	return "(no reason given)"
}

// optedOut names the component a testenv skip was for ("ripcord-skip:
// kubernetes (RIPCORD_SKIP=...)").
func optedOut(reason string) (string, bool) {
	rest, ok := strings.CutPrefix(reason, "ripcord-skip: ")
	if !ok || !strings.Contains(rest, "RIPCORD_SKIP=") {
		return "", false
	}
	c, _, _ := strings.Cut(rest, " ")
	return c, true
}

func (s *summary) finish(out io.Writer) {
	if len(s.skips) > 0 {
		fmt.Fprintf(out, "\nskipped tests:\n")
		for _, l := range s.skips {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
	if len(s.optedOut) > 0 {
		var parts []string
		for c, n := range s.optedOut {
			parts = append(parts, fmt.Sprintf("%s (%d tests)", c, n))
		}
		sort.Strings(parts)
		fmt.Fprintf(out, "\nNOT RUN, opted out by RIPCORD_SKIP: %s\n", strings.Join(parts, ", "))
	}
	if len(s.failures) > 0 {
		fmt.Fprintf(out, "\nfailed tests:\n")
		for _, l := range s.failures {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
	if s.failedPkgs > 0 {
		fmt.Fprintf(out, "\n%d package(s) failed\n", s.failedPkgs)
	}
	fmt.Fprintf(out, "\n%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
}
