package main

import (
	"strings"
	"testing"
)

func TestParseCrashAt(t *testing.T) {
	for _, tc := range []struct {
		in    string
		point string
		n     int64
		err   string
	}{
		{in: "after_switch", point: "after_switch", n: 1},
		{in: "between_notifications:3", point: "between_notifications", n: 3},
		{in: "after_lunch", err: "unknown crash point"},
		{in: "after_decision:0", err: "whole number from 1"},
		{in: "after_decision:x", err: "whole number from 1"},
	} {
		p, n, err := parseCrashAt(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), crashVar) {
				t.Errorf("%q: err %v, want one naming %s and saying %q", tc.in, err, crashVar, tc.err)
			}
			continue
		}
		if err != nil || p != tc.point || n != tc.n {
			t.Errorf("%q: %q %d %v", tc.in, p, n, err)
		}
	}
}
