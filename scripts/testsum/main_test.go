package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: boom\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestB"}`,
		`{"Action":"output","Package":"p","Test":"TestK","Output":"    k_test.go:3: ripcord-skip: kubernetes (RIPCORD_SKIP=kubernetes)\n"}`,
		`{"Action":"output","Package":"p","Test":"TestK","Output":"--- SKIP: TestK (0.00s)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestK"}`,
		`{"Action":"output","Package":"p","Output":"FAIL\tp\t0.1s\n"}`,
		`{"Action":"fail","Package":"p"}`,
		`{"Action":"skip","Package":"q"}`,
	}, "\n")
	var out bytes.Buffer
	s := run(strings.NewReader(in), &out)
	got := out.String()
	for _, want := range []string{"--- FAIL p TestB\n    b_test.go:9: boom", "FAIL\tp\t0.1s",
		"p TestK: ripcord-skip: kubernetes", "NOT RUN, opted out by RIPCORD_SKIP: kubernetes (1 tests)", "\n1 passed, 1 failed, 1 skipped\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if s.failedPkgs != 1 {
		t.Errorf("failed packages %d", s.failedPkgs)
	}
}

// TestTimeout: a test still running when the -timeout panic kills its
// package is a failure, printed with its log and its own goroutine only.
func TestTimeout(t *testing.T) {
	in, err := os.ReadFile("testdata/timeout.json")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := run(bytes.NewReader(in), &out)
	got := out.String()
	for _, want := range []string{"--- DID NOT FINISH x TestHang", "x_test.go:4: before", "panic: test timed out after 3s",
		"x.TestHang(", "/tmp/tjson/x_test.go:4", "failed tests:\n  x TestHang (did not finish)", "\n1 passed, 1 failed, 0 skipped\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "goroutine 1 [") {
		t.Errorf("the test runner's own goroutine is printed:\n%s", got)
	}
	if s.failed != 1 || s.failedPkgs != 1 {
		t.Errorf("failed %d tests, %d packages", s.failed, s.failedPkgs)
	}
}
