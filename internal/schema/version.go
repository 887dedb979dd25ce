package schema

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is a schema version: one number (golang-migrate's 42, goose's
// 20240101120000) or dotted numbers (Flyway's 1.10), compared part by
// part as numbers, so 1.10 > 1.9 and 1.0 = 1. The zero Version is unset.
type Version struct {
	parts []uint64
	raw   string
}

// ParseVersion reads "42", "1.10", "v2.3" or Flyway's "1_2" (underscore as
// separator).
func ParseVersion(s string) (Version, error) {
	raw := strings.TrimSpace(s)
	body := strings.TrimPrefix(strings.TrimPrefix(raw, "v"), "V")
	if body == "" {
		return Version{}, errors.New("schema: empty version")
	}
	fields := strings.Split(strings.ReplaceAll(body, "_", "."), ".")
	parts := make([]uint64, len(fields))
	for i, f := range fields {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return Version{}, fmt.Errorf("schema: version %q is not dotted numbers such as 42 or 1.10", s)
		}
		parts[i] = n
	}
	return Version{parts: parts, raw: raw}, nil
}

// MustParse is ParseVersion for constants; it panics on bad input.
func MustParse(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// IsZero reports whether v is unset.
func (v Version) IsZero() bool { return len(v.parts) == 0 }

// String is the version as it was written.
func (v Version) String() string { return v.raw }

// Compare returns -1, 0 or +1 as v is older than, the same as, or newer
// than w. Missing trailing parts count as 0.
func (v Version) Compare(w Version) int {
	for i := range max(len(v.parts), len(w.parts)) {
		a, b := part(v.parts, i), part(w.parts, i)
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return 0
}

func part(p []uint64, i int) uint64 {
	if i < len(p) {
		return p[i]
	}
	return 0
}

// Range is the schema versions a service version works with; an unset
// bound is open.
type Range struct {
	Min, Max Version
}

// ParseRange reads a range from its bounds' text ("" leaves a bound open),
// as they come from config (schema: {min: 40, max: 42}) or from
// ripcord.dev/schema-min and ripcord.dev/schema-max labels and tags.
func ParseRange(min, max string) (Range, error) {
	var r Range
	var errs []error
	var err error
	if min != "" {
		if r.Min, err = ParseVersion(min); err != nil {
			errs = append(errs, fmt.Errorf("min: %w", err))
		}
	}
	if max != "" {
		if r.Max, err = ParseVersion(max); err != nil {
			errs = append(errs, fmt.Errorf("max: %w", err))
		}
	}
	if len(errs) == 0 {
		errs = append(errs, r.Validate())
	}
	return r, errors.Join(errs...)
}

// Validate refuses min > max.
func (r Range) Validate() error {
	if !r.Min.IsZero() && !r.Max.IsZero() && r.Min.Compare(r.Max) > 0 {
		return fmt.Errorf("schema range min %s > max %s: no schema satisfies it; swap them or fix the one that is wrong", r.Min, r.Max)
	}
	return nil
}

// IsZero reports whether the range is open both ways (declares nothing).
func (r Range) IsZero() bool { return r.Min.IsZero() && r.Max.IsZero() }

// Contains reports whether schema version db lies in the range.
func (r Range) Contains(db Version) bool {
	return (r.Min.IsZero() || db.Compare(r.Min) >= 0) && (r.Max.IsZero() || db.Compare(r.Max) <= 0)
}

// Why explains, for the incident, why version (a service version's name)
// cannot run against schema db: "v1 works with schema ≤ 41; the database
// is at 42". It is "" when the range contains db.
func (r Range) Why(version string, db Version) string {
	switch {
	case r.Contains(db):
		return ""
	case !r.Max.IsZero() && db.Compare(r.Max) > 0:
		return fmt.Sprintf("%s works with schema ≤ %s; the database is at %s", version, r.Max, db)
	default:
		return fmt.Sprintf("%s needs schema ≥ %s; the database is at %s", version, r.Min, db)
	}
}

// String shows the range: "40–42", "≥ 40", "≤ 42" or "any".
func (r Range) String() string {
	switch {
	case r.IsZero():
		return "any"
	case r.Min.IsZero():
		return "≤ " + r.Max.String()
	case r.Max.IsZero():
		return "≥ " + r.Min.String()
	}
	return r.Min.String() + "–" + r.Max.String()
}
