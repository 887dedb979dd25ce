package api

import (
	"mime"
	"net/http"
	"strings"
)

// guard refuses what a web page could make a browser send: a request a
// browser marks as cross-site (Sec-Fetch-Site, sent by every current
// browser), and a POST under /api/v1/ without Content-Type:
// application/json — the one body type a page cannot send to another
// origin without a CORS preflight, which this API never grants. Probes and
// scrapers (/healthz, /metrics) send neither header and are unaffected.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			writeError(w, http.StatusForbidden, "cross_site", "cross-site requests are refused: call the API from the CLI, a script or a same-origin page")
			return
		}
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v1/") && !isJSON(r.Header.Get("Content-Type")) {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
				"Content-Type must be application/json (curl: -H 'Content-Type: application/json')")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}
