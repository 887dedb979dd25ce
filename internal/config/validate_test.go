package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSQLitePath(t *testing.T) {
	tests := []struct {
		url, want string
		wantErr   string
	}{
		{"sqlite://ripcord.db", filepath.Join("/etc/ripcord", "ripcord.db"), ""},
		{"sqlite://data/r.db", filepath.Join("/etc/ripcord", "data/r.db"), ""},
		{"sqlite:///var/lib/ripcord.db", "/var/lib/ripcord.db", ""},
		{"sqlite://:memory:", ":memory:", ""},
		{"sqlite://", "", "needs a file path"},
		{"postgres://u:hunter2@db/ripcord", "", "is a PostgreSQL store"},
		{"postgresql://db/ripcord", "", "is a PostgreSQL store"},
		{"ripcord.db", "", "must be sqlite://PATH"},
	}
	for _, tt := range tests {
		got, err := Store{URL: tt.url}.SQLitePath("/etc/ripcord")
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("%s: got %q, %v; want %q", tt.url, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err = %v, want %q", tt.url, err, tt.wantErr)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("%s: error quotes the URL's password: %v", tt.url, err)
		}
	}
}

func TestServiceValidation(t *testing.T) {
	second := `  - name: %s
    proxy: {listen: '%s'}
    versions: [{name: v1, url: http://127.0.0.1:9101}]
`
	tests := []struct {
		name, old, repl, path string
		line                  int
		msg                   string
	}{
		{"service name chars", "name: llm-api", "name: LLM_api", "services[0].name", 4, "only lowercase letters, digits and '-'"},
		{"service name empty", "  - name: llm-api", "  - name: ''", "services[0].name", 4, "is required"},
		{"proxy listen", "listen: 127.0.0.1:8080", "listen: 8080", "services[0].proxy.listen", 6, "must be host:port"},
		{"proxy port name", "listen: 127.0.0.1:8080", "listen: 127.0.0.1:http", "services[0].proxy.listen", 6, "numeric port"},
		{"proxy equals api", "listen: 127.0.0.1:8080", "listen: 127.0.0.1:7070", "services[0].proxy.listen", 6, "already used by api.listen"},
		{"api equals proxy", "  listen: 127.0.0.1:7070", "  listen: '127.0.0.1:8080'", "services[0].proxy.listen", 6, "already used by api.listen"},
		{"api listen", "  listen: 127.0.0.1:7070", "  listen: localhost", "api.listen", 2, "must be host:port"},
		{"version name", "- name: v0", "- name: 'v 0'", "services[0].versions[0].name", 8, "only letters, digits"},
		{"version dup", "- name: v1", "- name: v0", "services[0].versions[1].name", 10, `"v0" is listed twice`},
		{"version url scheme", "url: http://127.0.0.1:9000", "url: ftp://127.0.0.1:9000", "services[0].versions[0].url", 9, "absolute http:// or https:// URL"},
		{"version url relative", "url: http://127.0.0.1:9000", "url: /v0", "services[0].versions[0].url", 9, "with a host"},
		{"active unknown", "    policy:", "    active: v9\n    policy:", "services[0].active", 12, `"v9" is not one of this service's versions`},
		{"no versions", "    versions:", "    versions: []\n    x:", "services[0].versions", 7, "at least one version is required"},
		{"log level", "api:", "log: {level: verbose, format: xml}\napi:", "log.level", 1, `not "verbose"`},
		{"log format", "api:", "log: {level: debug, format: xml}\napi:", "log.format", 1, "must be text or json"},
		{"store", "api:", "store: {url: 'mysql://db'}\napi:", "store.url", 1, "must be sqlite://PATH"},
		{"no services", "services:\n", "services: []\nx:\n", "services", 3, "at least one service is required"},
		{"trusted proxy not a CIDR", "      listen: 127.0.0.1:8080", "      listen: 127.0.0.1:8080\n      trusted_proxies: [10.0.0.0/8, 192.0.2.7]", "services[0].proxy.trusted_proxies[1]", 7, `"192.0.2.7" is not a CIDR such as 10.0.0.0/8 (for one address write 192.0.2.7/32`},
		{"trusted proxy bad mask", "      listen: 127.0.0.1:8080", "      listen: 127.0.0.1:8080\n      trusted_proxies: [10.0.0.0/33]", "services[0].proxy.trusted_proxies[0]", 7, `"10.0.0.0/33" is not a CIDR`},
		{"body timeout", "      listen: 127.0.0.1:8080", "      listen: 127.0.0.1:8080\n      body_timeout: 0s", "services[0].proxy.body_timeout", 7, "must be a positive duration"},
		{"max conns", "      listen: 127.0.0.1:8080", "      listen: 127.0.0.1:8080\n      max_conns: -5", "services[0].proxy.max_conns", 7, "must be a positive number of connections (default 10000)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrs(t, mutate(t, tt.old, tt.repl), t.TempDir())
			wantProblem(t, errs, tt.path, tt.line, tt.msg)
		})
	}
	t.Run("duplicate service and listener", func(t *testing.T) {
		src := base + fmt.Sprintf(second, "llm-api", "0.0.0.0:8080")
		errs := parseErrs(t, src, "")
		wantProblem(t, errs, "services[1].name", 17, `"llm-api" is already defined at services[0]`)
		wantProblem(t, errs, "services[1].proxy.listen", 18, "already used by services[0].proxy.listen")
	})
	t.Run("proxy defaults", func(t *testing.T) {
		p := mustParse(t, base, "").Services[0].Proxy
		if p.BodyTimeout != DefaultBodyTimeout || p.MaxConns != DefaultMaxConns || p.TrustedProxies != nil {
			t.Fatalf("proxy defaults %+v", p)
		}
		p = mustParse(t, mutate(t, "      listen: 127.0.0.1:8080", "      listen: 127.0.0.1:8080\n      trusted_proxies: [10.0.0.0/8, '2001:db8::/32']\n      body_timeout: 5s\n      max_conns: 50"), "").Services[0].Proxy
		if len(p.TrustedProxies) != 2 || p.BodyTimeout != 5*time.Second || p.MaxConns != 50 {
			t.Fatalf("proxy settings %+v", p)
		}
	})
	t.Run("port 0 never clashes", func(t *testing.T) {
		src := mutate(t, "listen: 127.0.0.1:8080", "listen: 127.0.0.1:0") + fmt.Sprintf(second, "other", "127.0.0.1:0")
		mustParse(t, src, "")
	})
}

func TestVersionURLFile(t *testing.T) {
	dir := t.TempDir()
	const withCreds = "http://ripcord:s3cr3t-do-not-print-7f2a@127.0.0.1:9001/?token=s3cr3t-do-not-print-7f2a"
	writeFile(t, dir, "v1.url", withCreds+"\n")
	writeFile(t, dir, "empty.url", "\n")
	writeFile(t, dir, "ftp.url", "ftp://s3cr3t-do-not-print-7f2a@host/\n")
	const line = "        url: http://127.0.0.1:9001"
	cfg := mustParse(t, mutate(t, line, "        url_file: v1.url"), dir)
	if v := cfg.Services[0].Versions[1]; v.URL != withCreds || v.URLFile != "v1.url" {
		t.Errorf("version = %+v", v)
	}
	// Validating again (Go code does) re-reads the file instead of seeing
	// both url and url_file.
	if err := cfg.Validate(); err != nil || cfg.Services[0].Versions[1].URL != withCreds {
		t.Errorf("second Validate: %v", err)
	}
	tests := []struct {
		name, old, repl, path string
		line                  int
		msg                   string
	}{
		{"both", line, line + "\n        url_file: v1.url", "services[0].versions[1]", 10, "sets both url and url_file: keep exactly one"},
		{"missing", line, "        url_file: nope.url", "services[0].versions[1].url_file", 11, "file " + filepath.Join(dir, "nope.url") + " does not exist"},
		{"empty", line, "        url_file: empty.url", "services[0].versions[1].url_file", 11, "is empty: put the version's URL in it"},
		{"not a URL", line, "        url_file: ftp.url", "services[0].versions[1].url_file", 11, "must be an absolute http:// or https:// URL"},
		{"neither", line + "\n", "", "services[0].versions[1].url", 10, "must be an absolute http:// or https:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrs(t, mutate(t, tt.old, tt.repl), dir)
			wantProblem(t, errs, tt.path, tt.line, tt.msg)
			if strings.Contains(errs.Error(), secret) {
				t.Errorf("the URL's credentials leak into the error: %v", errs)
			}
		})
	}
}
