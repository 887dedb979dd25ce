package report

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/store"
)

// TestVersionURLsMasked: a report is for everyone who can see the incident,
// so a version URL's password and query values never reach it — not in the
// versions table, not in the deployments table, not in either rendering —
// while the host stays, so the reader still knows which upstream it was.
func TestVersionURLsMasked(t *testing.T) {
	for _, tc := range []struct {
		name, url, shown string
		secrets          []string
	}{
		{"password", "http://deploy:hunter2@checkout-v2.internal:8080/", "http://deploy:***@checkout-v2.internal:8080/",
			[]string{"hunter2"}},
		{"query token", "https://checkout-v2.internal/api?token=tok-1a2b3c&region=eu", "https://checkout-v2.internal/api?token=***&region=***",
			[]string{"tok-1a2b3c", "region=eu"}},
		{"both, escaped", "http://svc:p%40ss%3Aw0rd@10.0.0.2:9001/v1?sig=a%2Fb%3Dc", "http://svc:***@10.0.0.2:9001/v1?sig=***",
			[]string{"p%40ss", "p@ss", "w0rd", "a%2Fb", "a/b"}},
		{"unparsable", "http://u:pw-zz9@[::1/", "<unparsable url>", []string{"pw-zz9"}},
		{"nothing secret", "http://checkout-v2.internal:8080", "http://checkout-v2.internal:8080", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := fixture(t)
			in.Deployments[1].URL = tc.url // v2, the bad version
			in.Deployments = append(in.Deployments, store.Deployment{ID: 42, Service: "checkout", Version: "v3",
				URL: tc.url, Actor: "ci", At: at(time.Hour)})
			r := Build(in)
			if got := r.Versions[0]; got.Name != "v2" || got.URL != tc.shown {
				t.Errorf("versions row = %+v, want v2 at %s", got, tc.shown)
			}
			for _, d := range r.Deployments[1:] {
				if d.URL != tc.shown {
					t.Errorf("deployment %d URL = %q, want %q", d.ID, d.URL, tc.shown)
				}
			}
			if in.Deployments[1].URL != tc.url {
				t.Error("Build changed the caller's deployment URL")
			}
			md, page := string(r.Markdown()), html.UnescapeString(string(r.HTML()))
			for name, out := range map[string]string{"markdown": md, "html": page} {
				for _, s := range tc.secrets {
					if strings.Contains(out, s) {
						t.Errorf("%s shows %q", name, s)
					}
				}
			}
			if !strings.Contains(page, tc.shown) {
				t.Errorf("html lacks the masked URL %s", tc.shown)
			}
			if !strings.Contains(strings.ReplaceAll(md, `\`, ""), tc.shown) {
				t.Errorf("markdown lacks the masked URL %s", tc.shown)
			}
		})
	}
}
