package probe

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, s := range []string{"a", "a.b", "a[0]", "a[0][12].b", "[0].id", "[3]", "choices[0].message.content"} {
		p, err := parsePath(s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if p.String() != s {
			t.Errorf("%q parsed back as %q", s, p.String())
		}
	}
	for _, s := range []string{"", ".", "a.", ".a", "a..b", "a[", "a[]", "a[-1]", "a[x]", "a]", "a[0]b", "a[0]]"} {
		if _, err := parsePath(s); err == nil {
			t.Errorf("%q: accepted", s)
		}
	}
}

func TestLookup(t *testing.T) {
	var doc any
	dec := json.NewDecoder(strings.NewReader(`{"a": {"b": [10, {"c": "x"}]}, "n": null}`))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want, err string }{
		{"a.b[0]", "10", ""},
		{"a.b[1].c", `"x"`, ""},
		{"n", "null", ""},
		{"a.x", "", "missing"},
		{"a.b[2]", "", "a.b has 2 elements, no [2]"},
		{"a.b.c", "", "a.b is an array, not an object"},
		{"a[0]", "", "a is an object, not an array"},
		{"[0]", "", "the body is an object, not an array"},
		{"n.x", "", "n is null, not an object"},
	} {
		p, _ := parsePath(c.path)
		v, err := p.lookup(doc)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%s: error %v, want %q", c.path, err, c.err)
		case c.err == "" && (err != nil || show(v) != c.want):
			t.Errorf("%s: got %s %v, want %s", c.path, show(v), err, c.want)
		}
	}
}
