package schema

import (
	"strings"
	"testing"
)

func TestVersionCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.10", "1.9", 1},
		{"1.9", "1.10", -1},
		{"1.0", "1", 0},
		{"1.0.0", "1", 0},
		{"2", "1.99", 1},
		{"42", "41", 1},
		{"20240101120000", "42", 1},
		{"v2.3", "2.3", 0},
		{"1_2", "1.2", 0},
		{"0", "0.0.1", -1},
	} {
		if got := MustParse(tc.a).Compare(MustParse(tc.b)); got != tc.want {
			t.Errorf("%s vs %s: %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	for _, bad := range []string{"", "v", "1.", ".1", "1..2", "1.x", "-1", "+1", "1 2", "42a"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if s := MustParse(" 1.10 ").String(); s != "1.10" {
		t.Errorf("String %q", s)
	}
}

func TestRange(t *testing.T) {
	r, err := ParseRange("40", "42")
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]bool{"39": false, "40": true, "41.5": true, "42": true, "42.0": true, "42.1": false, "43": false} {
		if r.Contains(MustParse(v)) != want {
			t.Errorf("40–42 contains %s: %v", v, !want)
		}
	}
	upTo41, _ := ParseRange("", "41")
	from43, _ := ParseRange("43", "")
	for _, tc := range []struct {
		r    Range
		db   string
		want string
	}{
		{upTo41, "42", "v1 works with schema ≤ 41; the database is at 42"},
		{from43, "42", "v1 needs schema ≥ 43; the database is at 42"},
		{r, "39", "v1 needs schema ≥ 40; the database is at 39"},
		{r, "41", ""},
		{Range{}, "1000", ""},
	} {
		if got := tc.r.Why("v1", MustParse(tc.db)); got != tc.want {
			t.Errorf("%s at %s: %q, want %q", tc.r, tc.db, got, tc.want)
		}
	}
	if r.String() != "40–42" || upTo41.String() != "≤ 41" || from43.String() != "≥ 43" || (Range{}).String() != "any" {
		t.Errorf("strings %s %s %s", r, upTo41, from43)
	}
	_, err = ParseRange("43", "42")
	if err == nil || !strings.Contains(err.Error(), "min 43 > max 42") {
		t.Errorf("min > max: %v", err)
	}
	_, err = ParseRange("forty", "4x")
	if err == nil || !strings.Contains(err.Error(), "min:") || !strings.Contains(err.Error(), "max:") {
		t.Errorf("bad bounds: %v", err)
	}
	if _, err := ParseRange("1.9", "1.10"); err != nil {
		t.Errorf("1.9–1.10 is a valid range: %v", err)
	}
}
