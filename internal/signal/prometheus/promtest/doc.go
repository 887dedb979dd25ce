// Package promtest runs a real Prometheus server for tests: the binary from
// Debian's prometheus package (/usr/bin/prometheus), on a free loopback port,
// with a temporary TSDB, scraping the targets a test names.
//
// A test that needs Prometheus calls StartPrometheus. When the binary is
// missing the test FAILS, with CI or without, so a machine that lost the
// package cannot turn the integration tests into silent skips; only
// RIPCORD_SKIP=prometheus skips them (internal/testenv). Install it with `apt-get install -y prometheus`; set
// RIPCORD_PROMETHEUS to use another binary.
//
// The server is killed when the test ends (t.Cleanup), and on Linux also
// when the test binary dies (parent-death signal), so no Prometheus outlives
// its test.
package promtest
