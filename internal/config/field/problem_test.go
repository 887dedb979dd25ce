package field_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ripcord/ripcord/internal/config/field"
)

func TestJoinAndIndex(t *testing.T) {
	for _, c := range [][3]string{
		{"services[0]", "name", "services[0].name"},
		{"", "api", "api"},
		{"notify.channels[1].slack", "", "notify.channels[1].slack"},
		{"versions", "[1].url", "versions[1].url"},
		{"a.b", "queries.error_rate", "a.b.queries.error_rate"},
	} {
		if got := field.Join(c[0], c[1]); got != c[2] {
			t.Errorf("Join(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	if got := field.Index("to", 2); got != "to[2]" {
		t.Errorf("Index = %q", got)
	}
}

func TestErrors(t *testing.T) {
	var errs field.Errors
	if err := errs.Err(); err != nil {
		t.Fatalf("no problems must be a nil error, got %#v", err)
	}
	errs = append(errs, field.Problem{Path: "b", Line: 9, Msg: "late"})
	errs.Add("a", "is %s", "wrong")
	errs.MissingSecret("x.routing_key")
	errs.MissingSecret("token")
	errs = append(errs, field.Problem{Line: 3, Msg: "no path"})
	err := errs.Err()
	want := "a: is wrong\n" +
		"x.routing_key: is required: set routing_key_file: PATH (a file holding it) or routing_key: ${ENV_VAR}\n" +
		"token: is required: set token_file: PATH (a file holding it) or token: ${ENV_VAR}\n" +
		"line 3: no path\n" +
		"b: line 9: late"
	if err == nil || err.Error() != want {
		t.Errorf("Err() =\n%v\nwant (sorted by line, lineless first)\n%s", err, want)
	}
	var back field.Errors
	if !errors.As(fmt.Errorf("wrapped: %w", err), &back) || len(back) != 5 {
		t.Errorf("errors.As through wrapping: %v", back)
	}
}
