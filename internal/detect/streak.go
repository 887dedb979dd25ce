package detect

// Streak counts bad verdicts in a row, the "consecutive" rule. It is a value:
// Step returns the next streak and whether to act, so the controller's
// history of verdicts can be replayed without a clock.
type Streak struct {
	Bad int `json:"bad"`
	// LastSamples is the sample count of the last counted verdict. A verdict
	// over the very same samples as the last one is not new evidence: counting
	// it would let a fast evaluation interval turn "2 consecutive" into
	// "the same 50 requests judged twice".
	LastSamples int64 `json:"last_samples"`
}

// Step folds one result into the streak. It returns true when the streak has
// reached need bad verdicts in a row.
func (s Streak) Step(r Result, need int) (Streak, bool) {
	need = max(need, 1)
	if r.Verdict != Degraded {
		return Streak{LastSamples: r.Samples}, false
	}
	if s.Bad > 0 && r.Samples == s.LastSamples {
		return s, s.Bad >= need
	}
	s.Bad++
	s.LastSamples = r.Samples
	return s, s.Bad >= need
}
