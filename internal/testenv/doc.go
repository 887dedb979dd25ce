// Package testenv is the one place a test decides whether it may skip.
//
// Fail, don't skip: a test whose external component (a Prometheus binary,
// Alertmanager, the Kubernetes test cluster) is missing fails, with CI or
// without, so a green run means it ran. Skipping needs an explicit opt-out,
// RIPCORD_SKIP, a comma-separated list of components (for example
// RIPCORD_SKIP=kubernetes,prometheus); a skipped test says so with the
// SkipMarker prefix, which scripts/test.sh counts into its summary line.
// Measurements (RIPCORD_BENCH=1) and -short are opt-ins, routed here too so
// every skip in the suite reads the same.
package testenv
