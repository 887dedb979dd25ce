package config

import (
	"strings"
	"testing"
	"time"
)

func haConfig(store, api, ha string) string {
	return store + "\n" + api + "\n" + ha + `
services:
  - name: svc
    proxy: {listen: 127.0.0.1:8080}
    versions: [{name: v1, url: http://127.0.0.1:9001}]
`
}

const (
	pgStore   = "store: {url: 'postgres://ripcord@db/ripcord'}"
	apiTokens = "api:\n  listen: 127.0.0.1:7070\n  tokens: [{name: ops, role: admin, token: '${RIPCORD_TEST_HA_TOKEN}'}]"
)

// TestHAProblems: each mistake in the ha block is reported at its key with
// its line and the fix.
func TestHAProblems(t *testing.T) {
	t.Setenv("RIPCORD_TEST_HA_TOKEN", "tok-0123456789abcdef")
	dir := t.TempDir()
	for _, tt := range []struct {
		store, api, ha, path string
		line                 int
		msg                  string
	}{
		{"", apiTokens, "ha: {}", "ha", 5, "needs a PostgreSQL store"},
		{pgStore, "api: {listen: 127.0.0.1:7070}", "ha: {}", "ha", 3, "needs api.tokens"},
		{pgStore, apiTokens, "ha: {lease_ttl: 10ms}", "ha.lease_ttl", 5, "at least 100ms"},
		{pgStore, apiTokens, "ha: {shards: 300}", "ha.shards", 5, "between 1 and 256"},
		{pgStore, apiTokens, "ha: {replica: 'a b'}", "ha.replica", 5, "letters, digits"},
		{pgStore, apiTokens, "ha: {advertise: 'ftp://x'}", "ha.advertise", 5, "http:// or https://"},
		{pgStore, apiTokens, "ha: {advertise: 'http://u:p@x:7070'}", "ha.advertise", 5, "no credentials"},
		{pgStore, apiTokens, "ha: {lease: etcd}", "ha.lease", 5, "postgres (a row in the store, the default) or kubernetes"},
		{pgStore, apiTokens, "ha: {lease: kubernetes, lease_ttl: 2500ms}", "ha.lease_ttl", 5, "whole number of seconds"},
		{pgStore, apiTokens, "ha: {lease: kubernetes, lease_ttl: 3s}", "ha.lease_ttl", 5, "at least 4s"},
		{pgStore, apiTokens, "ha: {lease: kubernetes, kubernetes: {name: Rip_cord}}", "ha.kubernetes.name", 5, "lower-case letters"},
		{pgStore, apiTokens, "ha: {kubernetes: {namespace: ops}}", "ha.kubernetes", 5, "only used with lease: kubernetes"},
	} {
		errs := parseErrs(t, haConfig(tt.store, tt.api, tt.ha), dir)
		wantProblem(t, errs, tt.path, tt.line, tt.msg)
	}
	cfg := mustParse(t, haConfig(pgStore, apiTokens, "ha: {replica: r-1, lease_ttl: 2s, shards: 4}"), dir)
	if h := cfg.HA; h == nil || h.Replica != "r-1" || h.LeaseTTL != 2*time.Second || h.Shards != 4 {
		t.Fatalf("ha = %+v", cfg.HA)
	}
}

// TestHAResolved: the name and URL come from the config, else the
// environment, else the host and api.listen; a wildcard listener needs
// an advertised URL.
func TestHAResolved(t *testing.T) {
	t.Setenv("RIPCORD_REPLICA", "")
	t.Setenv("RIPCORD_ADVERTISE", "")
	h, err := HA{}.Resolved("10.0.0.5:7070")
	if err != nil || h.Replica == "" || h.Advertise != "http://10.0.0.5:7070" || h.LeaseTTL != DefaultLeaseTTL || h.Shards != 1 {
		t.Fatalf("defaults: %+v %v", h, err)
	}
	t.Setenv("POD_NAMESPACE", "")
	if _, err := (HA{Lease: LeaseKubernetes}).Resolved("10.0.0.5:7070"); err == nil || !strings.Contains(err.Error(), "ha.kubernetes.namespace") {
		t.Errorf("kubernetes lease outside a pod without a namespace: %v", err)
	}
	t.Setenv("POD_NAMESPACE", "ops")
	if k, err := (HA{Lease: LeaseKubernetes}).Resolved("10.0.0.5:7070"); err != nil || k.Kubernetes.Namespace != "ops" || k.Kubernetes.Name != "ripcord" {
		t.Errorf("kubernetes lease from POD_NAMESPACE: %+v %v", k.Kubernetes, err)
	}
	if _, err := (HA{}).Resolved(":7070"); err == nil || !strings.Contains(err.Error(), "ha.advertise") {
		t.Fatalf("wildcard listener without advertise: %v", err)
	}
	t.Setenv("RIPCORD_REPLICA", "pod-7")
	t.Setenv("RIPCORD_ADVERTISE", "http://10.9.9.9:7070")
	if h, err := (HA{}).Resolved(":7070"); err != nil || h.Replica != "pod-7" || h.Advertise != "http://10.9.9.9:7070" {
		t.Fatalf("from the environment: %+v %v", h, err)
	}
	if h, err := (HA{Replica: "mine"}).Resolved("127.0.0.1:0"); err != nil || h.Replica != "mine" || h.Advertise != "http://10.9.9.9:7070" {
		t.Fatalf("config wins over the environment for the name: %+v %v", h, err)
	}
}
