package app

import (
	"testing"

	"github.com/ripcord/ripcord/internal/config"
)

// TestShadowCompareJSON: listed fields are compared in the probe files'
// path syntax; fields not listed may differ; a field missing on one side
// only, or an answer that is not JSON where the live one is, disagrees.
func TestShadowCompareJSON(t *testing.T) {
	o := shadowOptions(&config.Shadow{Percent: 100, MaxBody: 0, Compare: config.ShadowCompare{Status: true,
		JSON: []string{"choices[0].finish_reason", "model"}}})
	if o.CompareBody == nil || !o.CompareStatus || o.MaxBody != -1 {
		t.Fatalf("options %+v", o)
	}
	live := `{"model":"m","choices":[{"finish_reason":"stop","text":"a"}]}`
	for _, tc := range []struct {
		shadow string
		same   bool
	}{
		{`{"model":"m","choices":[{"finish_reason":"stop","text":"b"}],"id":2}`, true},
		{`{"model":"m","choices":[{"finish_reason":"length"}]}`, false},
		{`{"choices":[{"finish_reason":"stop"}]}`, false},
		{`{"model":"m","choices":[]}`, false},
		{`<html>`, false},
	} {
		if got := o.CompareBody([]byte(live), []byte(tc.shadow)); got != tc.same {
			t.Errorf("%s: same = %v, want %v", tc.shadow, got, tc.same)
		}
	}
	if !o.CompareBody([]byte("not json"), []byte(`{}`)) {
		t.Error("a live answer that is not JSON gives nothing to compare with")
	}
	if o := shadowOptions(&config.Shadow{Compare: config.ShadowCompare{Status: true}}); o.CompareBody != nil {
		t.Error("no json paths: no body comparison")
	}
}
