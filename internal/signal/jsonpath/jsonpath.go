package jsonpath

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Path is a parsed JSON path: a list of steps, each an object key or an
// array index.
type Path []step

// ErrMissing is a key the document does not have.
var ErrMissing = errors.New("missing")

type step struct {
	key   string
	index int // used when key == "" (an array index)
	isIdx bool
}

func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s.isIdx:
			fmt.Fprintf(&b, "[%d]", s.index)
		case i > 0:
			b.WriteString("." + s.key)
		default:
			b.WriteString(s.key)
		}
	}
	return b.String()
}

// Parse parses "choices[0].message.content" or "[2].id". A leading "$."
// (or "$" before an index, or "$" alone for the whole document) is
// accepted, as JSONPath writes it.
func Parse(s string) (Path, error) {
	if s == "$" {
		return Path{}, nil
	}
	if rest, ok := strings.CutPrefix(s, "$"); ok && rest != "" {
		s = strings.TrimPrefix(rest, ".")
		if s == "" || rest[0] != '.' && rest[0] != '[' {
			return nil, fmt.Errorf("%q: after $ comes . or [", "$"+rest)
		}
	}
	var p Path
	for i := 0; i < len(s); {
		if s[i] == '[' {
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("%q: missing ]", s)
			}
			n, err := strconv.Atoi(s[i+1 : i+j])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%q: [%s] is not a non-negative index", s, s[i+1:i+j])
			}
			p = append(p, step{index: n, isIdx: true})
			i += j + 1
		} else {
			j := strings.IndexAny(s[i:], ".[]")
			if j < 0 {
				j = len(s) - i
			}
			if j == 0 {
				return nil, fmt.Errorf("%q: empty key at offset %d", s, i)
			}
			p = append(p, step{key: s[i : i+j]})
			i += j
		}
		switch {
		case i == len(s) || s[i] == '[':
		case s[i] == '.' && i+1 < len(s):
			i++
		default:
			return nil, fmt.Errorf("%q: unexpected %q at offset %d", s, s[i:], i)
		}
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("empty path")
	}
	return p, nil
}

// Lookup walks v (as decoded by encoding/json) along p. It reports where
// the walk stopped when a step is missing; a missing key is ErrMissing.
func (p Path) Lookup(v any) (any, error) {
	for i, s := range p {
		switch {
		case s.isIdx:
			arr, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s is %s, not an array", p[:i].orRoot(), kind(v))
			}
			if s.index >= len(arr) {
				return nil, fmt.Errorf("%s has %d elements, no [%d]", p[:i].orRoot(), len(arr), s.index)
			}
			v = arr[s.index]
		default:
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s is %s, not an object", p[:i].orRoot(), kind(v))
			}
			if v, ok = obj[s.key]; !ok {
				return nil, ErrMissing
			}
		}
	}
	return v, nil
}

func (p Path) orRoot() string {
	if len(p) == 0 {
		return "the body"
	}
	return p.String()
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}
