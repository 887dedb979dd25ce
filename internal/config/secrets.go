package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
)

// validate checks the listener and the tokens, resolving each token's
// secret. No message in here may include a secret: only names, paths and
// environment variable names are quoted.
func (a *API) validate(r *report, baseDir string) {
	listenOK := checkListen(r, "api.listen", a.Listen)
	if len(a.Tokens) == 0 && listenOK && !isLoopback(a.Listen) {
		r.add("api.listen", "%s is not a loopback address, but no api.tokens are configured, so anyone who can reach it could trigger rollbacks without authenticating: listen on 127.0.0.1 (or ::1, localhost), or add tokens", a.Listen)
	}
	names := map[string]string{}
	owner := map[string]string{} // secret → name of the token that has it
	for i := range a.Tokens {
		t := &a.Tokens[i]
		path := index("api.tokens", i)
		t.validate(r, path, baseDir)
		if first, dup := names[t.Name]; dup && t.Name != "" {
			r.add(child(path, "name"), "token name %q is already used at %s: token names must be unique (they appear in the audit log)", t.Name, first)
		}
		names[t.Name] = path
		if other, dup := owner[t.Value]; dup && t.Value != "" {
			r.add(path, "has the same secret as token %q: each token needs its own secret so the audit log can tell them apart", other)
		}
		owner[t.Value] = t.Name
	}
}

func (t *Token) validate(r *report, path, baseDir string) {
	if t.Name == "" {
		r.add(child(path, "name"), "is required: a short name such as ci, shown in the audit log")
	}
	roles := []string{RoleViewer, RoleOperator, RoleAdmin}
	if !slices.Contains(roles, t.Role) {
		r.add(child(path, "role"), "must be one of viewer, operator, admin, not %q%s", t.Role, didYouMean(t.Role, roles))
	}
	switch {
	case t.TokenFile != "" && t.Token != "":
		r.add(path, "sets both token_file and token: keep exactly one")
	case t.TokenFile != "":
		t.fromFile(r, child(path, "token_file"), baseDir)
	case t.Token != "":
		t.fromEnv(r, child(path, "token"))
	case t.Value == "":
		r.add(path, "has no secret: set token_file: ./NAME.token (a file holding the token) or token: ${ENV_VAR}")
	}
}

// fromFile reads the secret from TokenFile, relative to baseDir. Errors name
// the file, never its contents.
func (t *Token) fromFile(r *report, path, baseDir string) {
	name := resolvePath(baseDir, t.TokenFile)
	secret, err := readSecret(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.add(path, "token file %s does not exist: create it with the token on one line, or fix the path (relative paths start at the config file's directory)", name)
	case err != nil:
		r.add(path, "%v", err)
	default:
		t.Value = secret
		if t.Value == "" {
			r.add(path, "token file %s is empty: put the token in it on one line", name)
		}
	}
}

// fromEnv resolves a ${NAME} reference. Anything else is a secret written
// into the config file, which is refused so the file can be shared, committed
// and printed safely; the message does not repeat the value.
func (t *Token) fromEnv(r *report, path string) {
	m := envRef.FindStringSubmatch(t.Token)
	if m == nil {
		r.add(path, "must be an environment reference such as ${RIPCORD_CI_TOKEN}; secrets are not accepted inline in the config file: put the secret in a file and use token_file: ./ci.token, or export it and write token: ${RIPCORD_CI_TOKEN}")
		return
	}
	t.Value = os.Getenv(m[1])
	if t.Value == "" {
		r.add(path, "environment variable %s is not set or is empty: export it before starting ripcord, or use token_file", m[1])
	}
}

// String describes the token without its secret, so printing a Config with
// %v or %+v cannot leak it.
func (t Token) String() string {
	return fmt.Sprintf("{name:%s role:%s token_file:%s token:%s value:%s}",
		t.Name, t.Role, t.TokenFile, t.Token, mask(t.Value))
}

// GoString is String for %#v.
func (t Token) GoString() string { return "config.Token" + t.String() }

// LogValue keeps the secret out of structured logs.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", t.Name), slog.String("role", t.Role))
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "<redacted>"
}

// Redacted returns a deep copy of c with every Token.Value blanked, for
// printing (ripcord config check, /config). c itself is untouched.
func (c *Config) Redacted() *Config {
	out := *c
	out.API.Tokens = slices.Clone(c.API.Tokens)
	for i := range out.API.Tokens {
		out.API.Tokens[i].Value = ""
	}
	out.Services = slices.Clone(c.Services)
	for i := range out.Services {
		s := &out.Services[i]
		s.Versions = slices.Clone(s.Versions)
		s.Policy.Thresholds = cloneThresholds(s.Policy.Thresholds)
	}
	return &out
}

func cloneThresholds(m map[string]Threshold) map[string]Threshold {
	if m == nil {
		return nil
	}
	out := make(map[string]Threshold, len(m))
	for k, t := range m {
		out[k] = Threshold{Max: clonePtr(t.Max), Min: clonePtr(t.Min), Critical: clonePtr(t.Critical), Baseline: t.Baseline}
	}
	return out
}

func clonePtr(p *float64) *float64 {
	if p == nil {
		return nil
	}
	return ptr(*p)
}
