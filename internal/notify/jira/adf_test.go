package jira

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// validateADF checks raw against the ADF rules for the nodes ripcord
// writes: a doc of version 1 whose blocks are paragraphs, headings and
// bullet lists, lists made of listItems starting with a paragraph, inline
// content of non-empty text nodes (strong/em/link marks) and hardBreaks, and
// no keys outside type/version/attrs/content/text/marks.
func validateADF(t *testing.T, what string, raw json.RawMessage) {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Errorf("%s: not a JSON object: %v", what, err)
		return
	}
	if root["type"] != "doc" || root["version"] != float64(1) {
		t.Errorf("%s: root type=%v version=%v, want doc/1", what, root["type"], root["version"])
	}
	if err := checkNode(root, "doc"); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

var children = map[string][]string{
	"doc":        {"paragraph", "heading", "bulletList"},
	"heading":    {"text", "hardBreak"},
	"paragraph":  {"text", "hardBreak"},
	"bulletList": {"listItem"},
	"listItem":   {"paragraph", "bulletList"},
}

func checkNode(n map[string]any, typ string) error {
	for k := range n {
		if !slices.Contains([]string{"type", "version", "attrs", "content", "text", "marks"}, k) {
			return fmt.Errorf("%s: unexpected key %q", typ, k)
		}
	}
	if _, ok := n["version"]; ok && typ != "doc" {
		return fmt.Errorf("%s: version outside doc", typ)
	}
	switch typ {
	case "text":
		return checkText(n)
	case "hardBreak":
		if n["content"] != nil {
			return fmt.Errorf("hardBreak with content")
		}
		return nil
	case "heading":
		attrs, _ := n["attrs"].(map[string]any)
		if l, _ := attrs["level"].(float64); l < 1 || l > 6 {
			return fmt.Errorf("heading level %v", n["attrs"])
		}
	}
	content, _ := n["content"].([]any)
	if len(content) == 0 && typ != "paragraph" {
		return fmt.Errorf("%s without content", typ)
	}
	for i, c := range content {
		cm, ok := c.(map[string]any)
		ct, _ := cm["type"].(string)
		if !ok || !slices.Contains(children[typ], ct) {
			return fmt.Errorf("%s may not contain %v", typ, cm["type"])
		}
		if typ == "listItem" && i == 0 && ct != "paragraph" {
			return fmt.Errorf("listItem must start with a paragraph")
		}
		if err := checkNode(cm, ct); err != nil {
			return fmt.Errorf("%s/%w", typ, err)
		}
	}
	return nil
}

func checkText(n map[string]any) error {
	if s, _ := n["text"].(string); s == "" {
		return fmt.Errorf("empty text node")
	}
	if n["content"] != nil {
		return fmt.Errorf("text with content")
	}
	marks, _ := n["marks"].([]any)
	for _, m := range marks {
		mm, _ := m.(map[string]any)
		switch mm["type"] {
		case "strong", "em":
		case "link":
			attrs, _ := mm["attrs"].(map[string]any)
			if href, _ := attrs["href"].(string); href == "" {
				return fmt.Errorf("link without href")
			}
		default:
			return fmt.Errorf("unknown mark %v", mm["type"])
		}
	}
	return nil
}

// The validator itself must reject what Jira rejects.
func TestValidatorRejectsBadADF(t *testing.T) {
	bad := []string{
		`{"type":"doc","version":1,"content":[{"type":"text","text":"loose"}]}`,
		`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":""}]}]}`,
		`{"type":"doc","version":1,"content":[{"type":"bulletList","content":[{"type":"paragraph"}]}]}`,
		`{"type":"doc","version":1,"content":[{"type":"heading","attrs":{"level":9},"content":[{"type":"text","text":"x"}]}]}`,
		`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"x","marks":[{"type":"link"}]}]}]}`,
	}
	for _, b := range bad {
		var root map[string]any
		json.Unmarshal([]byte(b), &root)
		if checkNode(root, "doc") == nil {
			t.Errorf("accepted %s", b)
		}
	}
}

func TestLinesNeverEmpty(t *testing.T) {
	for _, s := range []string{"", "  ", "a\n\nb", "x\r\ny"} {
		b, _ := json.Marshal(doc(para(lines(s)...)))
		validateADF(t, fmt.Sprintf("%q", s), b)
	}
}
