package jsonpath

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, s := range []string{"a", "a.b", "a[0]", "a[0][12].b", "[0].id", "[3]", "choices[0].message.content"} {
		p, err := Parse(s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if p.String() != s {
			t.Errorf("%q parsed back as %q", s, p.String())
		}
	}
	for in, want := range map[string]string{"$.a.b": "a.b", "$[0].id": "[0].id", "$.choices[0].text": "choices[0].text"} {
		if p, err := Parse(in); err != nil || p.String() != want {
			t.Errorf("%q: %v %v, want %q", in, p, err, want)
		}
	}
	if p, err := Parse("$"); err != nil || len(p) != 0 {
		t.Errorf("$: %v %v", p, err)
	}
	for _, s := range []string{"$x", "$.", "$..a", "", ".", "a.", ".a", "a..b", "a[", "a[]", "a[-1]", "a[x]", "a]", "a[0]b", "a[0]]"} {
		if _, err := Parse(s); err == nil {
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
		p, _ := Parse(c.path)
		v, err := p.Lookup(doc)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%s: error %v, want %q", c.path, err, c.err)
		case c.err == "" && (err != nil || show(t, v) != c.want):
			t.Errorf("%s: got %s %v, want %s", c.path, show(t, v), err, c.want)
		}
	}
}

func show(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
