package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// mlflowRegistry (a copy of internal/revert/mlflow's test registry, as test
// packages cannot share code) is a local MLflow Model Registry speaking REST API 2.0 as
// mlflow/protos/model_registry.proto and the REST API reference define
// it: the paths and methods of GetRegisteredModel, SearchModelVersions,
// GetModelVersion, GetModelVersionByAlias and SetRegisteredModelAlias,
// their query parameters and JSON bodies, bearer authentication, and
// errors as {"error_code", "message"}. A request off the documented
// format fails the test.
type mlflowRegistry struct {
	t     testing.TB
	srv   *httptest.Server
	token string
	model string

	mu       sync.Mutex
	versions map[string]*mlflowVersion // by version number
	aliases  map[string]string         // alias → version
	faults   map[string][]mlflowFault  // "METHOD endpoint" → answers to give first
	log      []string                  // "METHOD endpoint?query" per request
	pageSize int
	// missingAlias404 is how a missing alias is answered: MLflow's own
	// server says 400 INVALID_PARAMETER_VALUE, other backends 404.
	missingAlias404 bool
	afterSet        func() // runs under mu after a successful set (e.g. someone moves it)
}

type mlflowVersion struct {
	version string
	status  string
	tags    map[string]string
}

type mlflowFault struct {
	status     int
	retryAfter string
	code       string
}

func newMLflowRegistry(t testing.TB, token, model string) *mlflowRegistry {
	r := &mlflowRegistry{t: t, token: token, model: model, versions: map[string]*mlflowVersion{}, aliases: map[string]string{},
		faults: map[string][]mlflowFault{}, pageSize: 1000}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/2.0/mlflow/registered-models/get", r.wrap(r.getModel, "name"))
	mux.HandleFunc("GET /api/2.0/mlflow/model-versions/search", r.wrap(r.search, "filter", "max_results", "page_token", "order_by"))
	mux.HandleFunc("GET /api/2.0/mlflow/model-versions/get", r.wrap(r.getVersion, "name", "version"))
	mux.HandleFunc("GET /api/2.0/mlflow/registered-models/alias", r.wrap(r.getAlias, "name", "alias"))
	mux.HandleFunc("POST /api/2.0/mlflow/registered-models/alias", r.wrap(r.setAlias))
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		t.Errorf("registry: undocumented request %s %s", req.Method, req.URL)
		mlflowError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "no such endpoint")
	})
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *mlflowRegistry) add(version, status string, tags map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.versions[version] = &mlflowVersion{version: version, status: status, tags: tags}
}

func (r *mlflowRegistry) setAliasTo(alias, version string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.aliases[alias] = version
}

// with runs fn under the registry's lock, for tests that change it.
func (r *mlflowRegistry) with(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn()
}

func (r *mlflowRegistry) alias(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.aliases[name]
}

func (r *mlflowRegistry) inject(key string, f ...mlflowFault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults[key] = append(r.faults[key], f...)
}

func (r *mlflowRegistry) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

func (r *mlflowRegistry) count(prefix string) int {
	n := 0
	for _, l := range r.requests() {
		if len(l) >= len(prefix) && l[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

// wrap checks what every call shares (bearer token, only the documented
// query parameters, no body on GET), logs it and plays injected faults.
func (r *mlflowRegistry) wrap(h func(w http.ResponseWriter, req *http.Request, body []byte), params ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		endpoint := req.URL.Path[len("/api/2.0/mlflow/"):]
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.log = append(r.log, req.Method+" "+endpoint+"?"+req.URL.RawQuery)
		key := req.Method + " " + endpoint
		var f *mlflowFault
		if q := r.faults[key]; len(q) > 0 {
			f, r.faults[key] = &q[0], q[1:]
		}
		token := r.token
		r.mu.Unlock()
		if got := req.Header.Get("Authorization"); got != "Bearer "+token {
			mlflowError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "bad credentials")
			r.t.Errorf("registry: %s: Authorization %q, want the bearer token", key, got)
			return
		}
		for k := range req.URL.Query() {
			if !slices.Contains(params, k) {
				r.t.Errorf("registry: %s: undocumented query parameter %q", key, k)
			}
		}
		if req.Method == http.MethodGet && len(body) > 0 {
			r.t.Errorf("registry: %s: GET with a body", key)
		}
		if f != nil {
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			mlflowError(w, f.status, f.code, "injected")
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		h(w, req, body)
	}
}

func mlflowError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
}

func mlflowReply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (r *mlflowRegistry) modelMissing(w http.ResponseWriter, name string) bool {
	if name == r.model {
		return false
	}
	mlflowError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Registered Model with name=%s not found", name))
	return true
}

func (r *mlflowRegistry) wire(m *mlflowVersion) map[string]any {
	tags := []map[string]string{}
	keys := make([]string, 0, len(m.tags))
	for k := range m.tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		tags = append(tags, map[string]string{"key": k, "value": m.tags[k]})
	}
	var aliases []string
	for a, v := range r.aliases {
		if v == m.version {
			aliases = append(aliases, a)
		}
	}
	n, _ := strconv.Atoi(m.version)
	return map[string]any{"name": r.model, "version": m.version, "creation_timestamp": 1700000000000 + n,
		"last_updated_timestamp": 1700000000000 + n, "current_stage": "None", "description": "",
		"source": "models:/m-" + m.version, "run_id": "run" + m.version, "status": m.status, "tags": tags, "aliases": aliases}
}

func (r *mlflowRegistry) getModel(w http.ResponseWriter, req *http.Request, _ []byte) {
	if r.modelMissing(w, req.URL.Query().Get("name")) {
		return
	}
	aliases := []map[string]string{}
	for a, v := range r.aliases {
		aliases = append(aliases, map[string]string{"alias": a, "version": v})
	}
	mlflowReply(w, map[string]any{"registered_model": map[string]any{"name": r.model, "creation_timestamp": 1700000000000,
		"last_updated_timestamp": 1700000000000, "latest_versions": []any{}, "tags": []any{}, "aliases": aliases}})
}

func (r *mlflowRegistry) search(w http.ResponseWriter, req *http.Request, _ []byte) {
	q := req.URL.Query()
	if want := "name='" + r.model + "'"; q.Get("filter") != want {
		r.t.Errorf("registry: search filter %q, want %q", q.Get("filter"), want)
	}
	limit, err := strconv.Atoi(q.Get("max_results"))
	if err != nil || limit < 1 || limit > 200000 {
		mlflowError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "max_results must be between 1 and 200000")
		return
	}
	limit = min(limit, r.pageSize)
	offset := 0
	if tok := q.Get("page_token"); tok != "" {
		b, err := base64.StdEncoding.DecodeString(tok)
		if offset, err = strconv.Atoi(string(b)); err != nil {
			mlflowError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Invalid page token")
			return
		}
	}
	// The registry's own order, newest first, as MLflow's default is:
	// the client must sort.
	keys := make([]string, 0, len(r.versions))
	for k := range r.versions {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return y - x })
	out := map[string]any{"model_versions": []any{}}
	page := []any{}
	for _, k := range keys[min(offset, len(keys)):min(offset+limit, len(keys))] {
		page = append(page, r.wire(r.versions[k]))
	}
	out["model_versions"] = page
	if offset+limit < len(keys) {
		out["next_page_token"] = base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(offset + limit)))
	}
	mlflowReply(w, out)
}

func (r *mlflowRegistry) getVersion(w http.ResponseWriter, req *http.Request, _ []byte) {
	q := req.URL.Query()
	if r.modelMissing(w, q.Get("name")) {
		return
	}
	m, ok := r.versions[q.Get("version")]
	if !ok {
		mlflowError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Model Version (name=%s, version=%s) not found", r.model, q.Get("version")))
		return
	}
	mlflowReply(w, map[string]any{"model_version": r.wire(m)})
}

func (r *mlflowRegistry) getAlias(w http.ResponseWriter, req *http.Request, _ []byte) {
	q := req.URL.Query()
	if r.modelMissing(w, q.Get("name")) {
		return
	}
	v, ok := r.aliases[q.Get("alias")]
	switch {
	case !ok && r.missingAlias404:
		mlflowError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Registered model alias %s not found.", q.Get("alias")))
	case !ok:
		mlflowError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Registered model alias %s not found.", q.Get("alias")))
	default:
		mlflowReply(w, map[string]any{"model_version": r.wire(r.versions[v])})
	}
}

func (r *mlflowRegistry) setAlias(w http.ResponseWriter, req *http.Request, body []byte) {
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		r.t.Errorf("registry: set alias Content-Type %q, want application/json", ct)
	}
	if req.URL.RawQuery != "" {
		r.t.Errorf("registry: set alias with a query %q", req.URL.RawQuery)
	}
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		mlflowError(w, http.StatusBadRequest, "MALFORMED_REQUEST", "bad JSON")
		return
	}
	for k, v := range in {
		if _, isString := v.(string); !slices.Contains([]string{"name", "alias", "version"}, k) || !isString {
			r.t.Errorf("registry: set alias body field %q = %v: want only the strings name, alias, version", k, v)
		}
	}
	name, _ := in["name"].(string)
	alias, _ := in["alias"].(string)
	version, _ := in["version"].(string)
	if r.modelMissing(w, name) {
		return
	}
	if alias == "" || version == "" {
		mlflowError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Missing value for required parameter")
		return
	}
	if _, ok := r.versions[version]; !ok {
		mlflowError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Model Version (name=%s, version=%s) not found", name, version))
		return
	}
	r.aliases[alias] = version
	if r.afterSet != nil {
		r.afterSet()
	}
	mlflowReply(w, map[string]any{})
}
