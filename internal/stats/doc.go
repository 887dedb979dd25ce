// Package stats holds the statistics ripcord uses to compare a canary with its
// baseline: the Mann-Whitney U test and a Kayenta-style verdict built on it.
//
// Everything here is a pure function of its arguments: no I/O, no clock, no
// global random source. That keeps every verdict reproducible from the numbers
// that produced it, which is what a rollback decision has to be.
//
// # Why Mann-Whitney
//
// Latencies and per-interval error rates are skewed, heavy-tailed and often
// tied (an error-rate series is mostly the same few values). The Mann-Whitney
// U test compares ranks, so it needs no normality and one huge outlier counts
// as one rank, not as a mean-shifting number. It is the test Kayenta's
// canary judge uses for the same reason.
//
// # p-values
//
// MannWhitney returns exact p-values when both samples have at most ExactLimit
// (20) values and there are no ties, computed from the exact null
// distribution of U (the classic recursive count of rank arrangements). In all
// other cases it uses the normal approximation with the tie-corrected variance
// and a continuity correction of 0.5, which is what scipy.stats.mannwhitneyu
// does with method="asymptotic", use_continuity=True; the tests pin both paths
// to published table values and scipy reference values.
//
// # Verdicts
//
// Compare says Fail only when two things hold at once: the difference is
// statistically significant in the bad direction (one-sided p < 1-confidence)
// AND it is large enough to matter (the relative effect exceeds the
// tolerance). Significance alone is not enough: with thousands of samples a
// 0.5% latency change is "significant" and nobody wants a rollback for it.
// Too few samples on either side is Inconclusive, never Pass or Fail.
//
// The effect size is the relative difference of medians, (canary - baseline)
// / |baseline|. Medians rather than means because latency is heavy-tailed and
// the median is what Mann-Whitney is sensitive to; relative rather than
// absolute so one tolerance (say 10%) fits any unit. The Hodges-Lehmann shift
// estimate was considered: it is the estimator that matches the test, but it
// costs n1*n2 differences and reads less plainly in a reason string. When the
// baseline median is zero (an error-rate series that is mostly zero-error
// intervals) the relative difference of medians is meaningless, so the means
// are compared instead, and the reason says so.
//
// Simulate reproduces the false-positive and detection rates of Compare on
// synthetic data with a fixed seed; see its documentation for the
// distributions and the rates measured.
package stats
