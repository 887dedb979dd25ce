package probe

import (
	"strings"
	"testing"
	"time"
)

func expectFrom(t *testing.T, yamlExpect string) Expect {
	t.Helper()
	probes, err := Parse([]byte("probes:\n  - path: /\n    expect:\n" + yamlExpect))
	if err != nil {
		t.Fatal(err)
	}
	return probes[0].Expect
}

func TestEvaluate(t *testing.T) {
	body := []byte(`{"n": 12, "f": 0.5, "s": "hello world", "b": false, "arr": [1, "x", {"k": 2}], "obj": {"a": [1, 2]}}`)
	cases := []struct {
		name, expect string
		status       int
		latency      time.Duration
		want         []string // substrings of the failure lines, in order; none = pass
	}{
		{"all good", `      status: 200
      max_latency: 1s
      json:
        - {path: n, equals: 12}
        - {path: f, equals: 0.5}
        - {path: s, contains: world}
        - {path: s, regex: "^hel+o"}
        - {path: b, equals: false}
        - {path: arr, contains: x}
        - {path: arr, contains: {k: 2}}
        - {path: "arr[2].k", range: [2, 2]}
        - {path: obj, equals: {a: [1, 2]}}
        - {path: n, regex: "^1[0-9]$"}
`, 200, time.Millisecond, nil},
		{"default status is 2xx", "      max_latency: 1s\n", 204, 0, nil},
		{"non-2xx", "      max_latency: 1s\n", 503, 0, []string{"status: got 503, want 2xx"}},
		{"exact status", "      status: 201\n", 200, 0, []string{"status: got 200, want 201"}},
		{"slow", "      max_latency: 10ms\n", 200, 25 * time.Millisecond, []string{"max_latency: took 25ms, want <= 10ms"}},
		{"wrong values", `      json:
        - {path: n, equals: "12"}
        - {path: s, contains: bye}
        - {path: s, range: [0, 1]}
        - {path: arr, contains: y}
        - {path: b, regex: "^true$"}
        - {path: missing}
        - {path: "obj.a[5]"}
`, 200, 0, []string{
			`json n equals: got 12, want "12"`,
			`json s contains: "hello world" does not contain "bye"`,
			`json s range: got "hello world", want a number in [0, 1]`,
			`json arr contains: [1,"x",{"k":2}] does not contain "y"`,
			`json b regex: false does not match ^true$`,
			`json missing: missing`,
			`json obj.a[5]: obj.a has 2 elements, no [5]`,
		}},
	}
	for _, c := range cases {
		got := expectFrom(t, c.expect).evaluate(c.status, body, c.latency)
		if len(got) != len(c.want) {
			t.Errorf("%s: failures %q, want %d", c.name, got, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: failure %d is %q, want %q", c.name, i, got[i], w)
			}
		}
	}
	got := expectFrom(t, "      json:\n        - {path: a}\n").evaluate(200, []byte("<html>"), 0)
	if len(got) != 1 || !strings.HasPrefix(got[0], "json: body is not JSON") {
		t.Errorf("non-JSON body: %q", got)
	}
}
