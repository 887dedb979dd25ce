package probe

import (
	"strings"
	"testing"
	"time"
)

func TestLoadYAMLAndJSON(t *testing.T) {
	y, err := Load("testdata/chat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(y) != 2 || y[0].Method != "POST" || y[1].Method != "GET" || y[0].Expect.MaxLatency != 2*time.Second {
		t.Fatalf("yaml: %+v", y)
	}
	if got := y[0].Expect.JSON[0].path.String(); got != "choices[0].text" {
		t.Errorf("path %q", got)
	}
	j, err := Load("testdata/chat.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(j) != 1 || j[0].Method != "POST" || j[0].Expect.JSON[1].Range[1] != 400 {
		t.Fatalf("json: %+v", j)
	}
	if _, err := Load("testdata/missing.yaml"); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// Every problem is reported, each naming the probe index and the field.
func TestParseErrorsNameProbeAndField(t *testing.T) {
	text := `probes:
  - path: /ok
  - path: no-slash
    method: FETCH
  - path: /x
    expect:
      status: 1000
      json:
        - path: a..b
        - path: c
          range: [5, 1]
        - path: d
          regex: "("
  - path: /y
    expect:
      statsu: 200
  - path: /z
    expect:
      status: abc
`
	_, err := Parse([]byte(text))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`probes[1].path: want a path starting with /, got "no-slash"`,
		`probes[1].method: "FETCH" is not an HTTP method`,
		`probes[2].expect.status: 1000 is not an HTTP status`,
		`probes[2].expect.json[0].path: "a..b": empty key`,
		`probes[2].expect.json[1].range: want [min, max] with min <= max, got [5 1]`,
		`probes[2].expect.json[2].regex:`,
		`probes[3]: line 16:`,
		`statsu`,
		`probes[4]: line 19:`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "probes[0]") {
		t.Errorf("the valid probe was blamed:\n%v", err)
	}
}

func TestParseFileShapeErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"", "the file is empty"},
		{"- path: /x", "must be a mapping with a probes: list"},
		{"probes: []", "at least one probe"},
		{"probes: {path: /x}", "probes: want a list"},
		{"probes:\n  - path: /x\nchecks: []", "checks: unknown key (line 3)"},
		{"probes: [", "line 1"},
		{`{"probes": [{"path": "/x", "expect": {"json": [{"path": "a[x]"}]}}]}`, `probes[0].expect.json[0].path: "a[x]": [x] is not a non-negative index`},
	} {
		_, err := Parse([]byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.text, err, c.want)
		}
	}
}
