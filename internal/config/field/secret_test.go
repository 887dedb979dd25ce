package field_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

const value = "tok-SeCrEt-0123456789"

// config is shaped like a channel's Config: the secret in an exported
// field, next to plain ones.
type config struct {
	URL   string
	Token field.Secret
	Other field.Secret `json:"other"`
}

func TestSecretNeverPrinted(t *testing.T) {
	s := field.Secret(value)
	cfg := config{URL: "https://example.com", Token: s, Other: s}
	out := notifytest.CheckNotPrinted(t, []string{value}, s, cfg, &cfg)
	if !strings.Contains(out, `Token:"<redacted>"`) {
		t.Errorf("%%#v should quote the placeholder:\n%s", out)
	}
	if s.Reveal() != value {
		t.Errorf("Reveal = %q", s.Reveal())
	}
	// Wrong verbs too, as through an interface vet cannot see into; fmt's
	// complaint would otherwise quote the value.
	var v, inStruct any = s, cfg
	if got := fmt.Sprintf("%x|%X|%q|%d|%t|%d|%10.3s", v, v, v, v, v, inStruct, v); strings.Contains(got, value) ||
		strings.Contains(got, fmt.Sprintf("%x", value)) || strings.Contains(got, "tok") {
		t.Errorf("other verbs leak: %s", got)
	}
}

func TestSecretRenderings(t *testing.T) {
	for in, want := range map[field.Secret]string{value: "<redacted>", "": ""} {
		j, err := json.Marshal(in)
		var back string
		if err != nil || json.Unmarshal(j, &back) != nil || back != want {
			t.Errorf("%q: JSON %s %v", want, j, err)
		}
		txt, err := in.MarshalText()
		if err != nil || string(txt) != want {
			t.Errorf("%q: text %q %v", want, txt, err)
		}
		if in.String() != want || in.LogValue().String() != want || in.GoString() != fmt.Sprintf("%q", want) {
			t.Errorf("%q: String %q LogValue %q GoString %s", want, in.String(), in.LogValue(), in.GoString())
		}
	}
	// An unset secret prints as nothing, so "<redacted>" means it is set.
	if got := fmt.Sprintf("%+v", config{}); strings.Contains(got, "redacted") {
		t.Errorf("empty secrets print %s", got)
	}
}
