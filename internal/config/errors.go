package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a configuration: where it is (Path, in the
// form services[1].policy.thresholds.error_rate.max, and the 1-based Line in
// the file, 0 when unknown) and what to do about it. Msg never contains a
// secret.
type Problem struct {
	Path string
	Line int
	Msg  string
}

// Error formats the problem as "path: line N: msg", leaving out the parts
// that are unknown.
func (p Problem) Error() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem found in a configuration. Load and Validate report
// all of them at once so a user can fix a file in one pass; callers reach the
// individual problems with errors.As.
type Errors []Problem

// Error lists the problems, one per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// sortByLine orders problems as they appear in the file, so the report reads
// top to bottom; problems without a line (missing sections) come first.
func (e Errors) sortByLine() {
	sort.SliceStable(e, func(i, j int) bool { return e[i].Line < e[j].Line })
}

// report collects problems during validation.
type report struct{ list Errors }

func (r *report) add(path, format string, args ...any) {
	r.list = append(r.list, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected problems, or a nil error (not a nil Errors in an
// interface) when there are none.
func (r *report) err() error {
	if len(r.list) == 0 {
		return nil
	}
	r.list.sortByLine()
	return r.list
}

// field and index build problem paths: field("services[0]", "name") is
// services[0].name, index("services", 1) is services[1].
func field(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// suggest returns the candidate closest to got when it is a likely typo, so
// messages can say `did you mean "interval"?`.
func suggest(got string, candidates []string) string {
	best, bestDist := "", len(got)/2+2
	for _, c := range candidates {
		if d := editDistance(got, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// didYouMean renders suggest's answer as a sentence fragment, or nothing.
func didYouMean(got string, candidates []string) string {
	if s := suggest(got, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
