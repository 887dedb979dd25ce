// Package cwtest is a local CloudWatch endpoint for tests: it verifies the
// SigV4 signature and the RPC v2 CBOR GetMetricData call the AWS SDK
// sends, and answers with points the test chooses. The cloudwatch
// package's own tests and the daemon's e2e tests share it.
package cwtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// The credentials AWSEnv gives the chain, and the region the endpoint
// expects in the signature's scope.
const (
	AccessKey = "AKIDRIPCORDTEST"
	SecretKey = "ripcord/test/secret+key"
	Region    = "eu-west-1"
)

// AWSEnv gives the standard credential chain exactly one source: the
// environment (AccessKey, SecretKey), and nothing from this machine's
// files or metadata.
func AWSEnv(t testing.TB) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// Endpoint is a local CloudWatch: it verifies each call's SigV4 signature
// with the test keys (service monitoring, Region), checks the Smithy RPC
// v2 CBOR body the SDK sends, and answers GetMetricData from Points. Lock
// Mu to read Calls or to change Points and Fail while it serves.
type Endpoint struct {
	t      testing.TB
	Srv    *httptest.Server
	Mu     sync.Mutex
	Calls  []map[string]any
	Points func(id string, q map[string]any) map[time.Time]float64
	Fail   string // an error code to answer with
}

// New starts an Endpoint, closed when the test ends.
func New(t testing.TB) *Endpoint {
	e := &Endpoint{t: t}
	e.Srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.Srv.Close)
	return e
}

// URL is the endpoint's address, for the source's endpoint key.
func (e *Endpoint) URL() string { return e.Srv.URL }

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

func (e *Endpoint) serve(w http.ResponseWriter, r *http.Request) {
	e.Mu.Lock()
	defer e.Mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/service/GraniteServiceVersion20100801/operation/GetMetricData" {
		e.t.Errorf("%s %s, want the RPC v2 GetMetricData operation", r.Method, r.URL.Path)
	}
	if r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.Header.Get("Content-Type") != "application/cbor" {
		e.t.Errorf("protocol headers %v", r.Header)
	}
	m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
	date := r.Header.Get("X-Amz-Date")
	switch {
	case m == nil:
		e.t.Errorf("Authorization %q is not SigV4", r.Header.Get("Authorization"))
	case m[1] != AccessKey || m[3] != Region || m[4] != "monitoring" || !strings.HasPrefix(date, m[2]):
		e.t.Errorf("credential scope %q, X-Amz-Date %q: want %s/<date>/%s/monitoring", m[0], date, AccessKey, Region)
	case !strings.Contains(";"+m[5]+";", ";x-amz-date;") || !strings.Contains(";"+m[5]+";", ";host;"):
		e.t.Errorf("signed headers %s lack host or x-amz-date", m[5])
	case m[6] != sign(r, body, m[5], date, m[2]):
		e.t.Errorf("the signature does not verify with the chain's keys")
	}
	if _, err := time.Parse("20060102T150405Z", date); err != nil {
		e.t.Errorf("X-Amz-Date %q: %v", date, err)
	}
	var in map[string]any
	if err := cbor.Unmarshal(body, &in); err != nil {
		e.t.Errorf("body is not CBOR: %v", err)
	}
	e.Calls = append(e.Calls, in)
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	if e.Fail != "" {
		w.Header().Set("X-Amzn-Query-Error", e.Fail+";Sender")
		w.WriteHeader(http.StatusBadRequest)
		b, _ := cbor.Marshal(map[string]any{"__type": "com.amazonaws.cloudwatch#" + e.Fail, "message": "refused by the test"})
		_, _ = w.Write(b)
		return
	}
	var results []map[string]any
	queries, _ := in["MetricDataQueries"].([]any)
	for _, q := range queries {
		qm := q.(map[any]any)
		id := fmt.Sprint(qm["Id"])
		pts := e.Points(id, ToStringMap(qm))
		var ts []time.Time
		for at := range pts {
			ts = append(ts, at)
		}
		slices.SortFunc(ts, func(a, b time.Time) int { return b.Compare(a) }) // CloudWatch's default order
		vals := make([]float64, len(ts))
		for i, at := range ts {
			vals[i] = pts[at]
		}
		results = append(results, map[string]any{"Id": id, "Label": id, "Timestamps": ts, "Values": vals, "StatusCode": "Complete"})
	}
	em, _ := cbor.EncOptions{Time: cbor.TimeUnix, TimeTag: cbor.EncTagRequired}.EncMode()
	b, err := em.Marshal(map[string]any{"MetricDataResults": results, "Messages": []any{}})
	if err != nil {
		e.t.Error(err)
	}
	_, _ = w.Write(b)
}

// ToStringMap turns a decoded CBOR map into one with string keys.
func ToStringMap(m map[any]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if mm, ok := v.(map[any]any); ok {
			v = ToStringMap(mm)
		}
		out[fmt.Sprint(k)] = v
	}
	return out
}

// sign recomputes a SigV4 signature (AWS's documented algorithm) over the
// headers the request says it signed.
func sign(r *http.Request, body []byte, signed, amzDate, day string) string {
	var canon strings.Builder
	names := strings.Split(signed, ";")
	sort.Strings(names)
	for _, h := range names {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		if h == "content-length" {
			v = fmt.Sprint(r.ContentLength)
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	sum := sha256.Sum256(body)
	req := strings.Join([]string{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, canon.String(), signed, hex.EncodeToString(sum[:])}, "\n")
	rs := sha256.Sum256([]byte(req))
	scope := day + "/" + Region + "/monitoring/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(rs[:])
	key := []byte("AWS4" + SecretKey)
	for _, part := range []string{day, Region, "monitoring", "aws4_request"} {
		key = hmacSHA(key, part)
	}
	return hex.EncodeToString(hmacSHA(key, toSign))
}

func hmacSHA(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}
