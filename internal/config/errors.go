package config

import (
	"fmt"

	"github.com/ripcord/ripcord/internal/config/field"
)

// Problem is one thing wrong with a configuration: its path, line and what
// to do about it. It is field.Problem, the type providers report in, so
// one errors.As finds every problem of a file.
type Problem = field.Problem

// Errors is every problem found in a configuration. Load and Validate report
// all of them at once so a user can fix a file in one pass; callers reach the
// individual problems with errors.As.
type Errors = field.Errors

// report collects problems during validation.
type report struct{ list Errors }

func (r *report) add(path, format string, args ...any) {
	r.list = append(r.list, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected problems in file order, or a nil error (not a
// nil Errors in an interface) when there are none.
func (r *report) err() error { return r.list.Err() }

// child and index build problem paths: child("services[0]", "name") is
// services[0].name, index("services", 1) is services[1].
func child(path, key string) string { return field.Join(path, key) }

func index(path string, i int) string { return field.Index(path, i) }

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
