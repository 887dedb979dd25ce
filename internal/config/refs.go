package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Secrets and files are references in the text: a secret is never written
// into the file itself, and a path is relative to the file. Both are
// resolved while decoding, so providers get the value and an absolute path.
// Messages name keys, files and variables, never a value read.

// envRef is the only form a secret's own key accepts: ${NAME}.
var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// maxSecretFile bounds how much of a secret file is read, so pointing
// NAME_file at the wrong (large) file fails fast instead of loading it.
const maxSecretFile = 4 << 10

// resolvePath makes a relative path start at baseDir.
func resolvePath(baseDir, name string) string {
	if name != "" && !filepath.IsAbs(name) && baseDir != "" {
		return filepath.Join(baseDir, name)
	}
	return name
}

// file decodes a field.File: a path relative to the config file.
func (d *decoder) file(path string, n ast.Node, v reflect.Value) {
	s, ok := text(n)
	if !ok {
		d.fail(path, n, "must be a file path (a string), not %s", describe(n))
		return
	}
	v.SetString(resolvePath(d.src.baseDir, s))
}

// secretKeys are the keys one field.Secret was given under.
type secretKeys struct {
	index     int
	name      string
	env, file *entry
}

func addSecretKey(list []secretKeys, f fieldInfo, e entry) []secretKeys {
	i := 0
	for i < len(list) && list[i].index != f.index {
		i++
	}
	if i == len(list) {
		list = append(list, secretKeys{index: f.index, name: f.name})
	}
	if f.file {
		list[i].file = &e
	} else {
		list[i].env = &e
	}
	return list
}

// secret resolves a NAME_file / NAME: ${ENV} pair into v. Any failure marks
// NAME failed too, so the provider's "is required" does not follow it.
func (d *decoder) secret(path string, s secretKeys, v reflect.Value) {
	p := child(path, s.name)
	env, file := d.secretText(p, s.env), d.secretText(p+"_file", s.file)
	var val string
	switch {
	case s.env != nil && s.file != nil && env != "" && file != "":
		d.fail(p, s.env.key, "sets both %s_file and %s: keep exactly one", s.name, s.name)
	case file != "":
		val = d.secretFile(p, s.file.key, resolvePath(d.src.baseDir, file))
	case env != "":
		val = d.secretEnv(p, s.env.key, env)
	}
	if _, ok := d.lines[p]; !ok && s.file != nil {
		d.lines[p] = lineOf(s.file.key) // for the provider's problems at NAME
	}
	if d.failed[p] || d.failed[p+"_file"] {
		d.failed[p] = true
		return
	}
	if val != "" {
		d.set[p] = true
		v.SetString(val)
	}
}

// secretText is the text under one of a secret's keys ("" when absent or
// null). A mapping or list there is a problem; a scalar never is, so a
// literal secret reaches secretEnv, which refuses it without quoting it.
func (d *decoder) secretText(path string, e *entry) string {
	if e == nil {
		return ""
	}
	n := d.deref(path, e.val)
	if n == nil {
		return ""
	}
	if _, null := n.(*ast.NullNode); null {
		return ""
	}
	s, ok := text(n)
	if !ok {
		d.fail(path, n, "must be a single value (a string), not %s", describe(n))
	}
	return s
}

func (d *decoder) secretFile(path string, key ast.Node, name string) string {
	v, err := readSecret(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.fail(path+"_file", key, "file %s does not exist (relative paths start at the config file's directory)", name)
	case err != nil:
		d.fail(path+"_file", key, "%v", err)
	case v == "":
		d.fail(path+"_file", key, "file %s is empty: put the secret in it on one line", name)
	}
	return v
}

func (d *decoder) secretEnv(path string, key ast.Node, ref string) string {
	name := path[strings.LastIndexByte(path, '.')+1:]
	m := envRef.FindStringSubmatch(ref)
	if m == nil {
		d.fail(path, key, "must be an environment reference such as ${%s}; secrets are not accepted inline: use %s_file: PATH or %s: ${ENV}",
			strings.ToUpper(name), name, name)
		return ""
	}
	v := os.Getenv(m[1])
	if v == "" {
		d.fail(path, key, "environment variable %s is not set or is empty", m[1])
	}
	return v
}

// readSecret returns the trimmed contents of a small file. A secret spanning
// several lines is refused: it is almost certainly the wrong file.
func readSecret(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", name, errors.Unwrap(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxSecretFile {
		return "", fmt.Errorf("file %s is larger than %d bytes; is it the right file?", name, maxSecretFile)
	}
	secret := strings.TrimSpace(string(data))
	if strings.ContainsAny(secret, "\r\n") {
		return "", fmt.Errorf("file %s has several lines; it must hold just the secret, on one line", name)
	}
	return secret, nil
}
