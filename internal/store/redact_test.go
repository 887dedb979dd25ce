package store

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://127.0.0.1:9001", "http://127.0.0.1:9001"},
		{"http://bob:s3cr3t@10.0.0.5:8080/v1", "http://bob:***@10.0.0.5:8080/v1"},
		{"http://bob@10.0.0.5/", "http://bob@10.0.0.5/"},
		{"https://api.example/v2?key=abc123&region=eu&flag", "https://api.example/v2?key=***&region=***&flag"},
		{"https://u:p%40ss@h/?sig=a%3Db", "https://u:***@h/?sig=***"},
		{"http://[::1]:x/", "<unparsable url>"},
	} {
		got := RedactURL(tt.in)
		if got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, secret := range []string{"s3cr3t", "abc123", "p%40ss", "a%3Db"} {
			if strings.Contains(got, secret) {
				t.Errorf("RedactURL(%q) leaks %q", tt.in, secret)
			}
		}
	}
}
