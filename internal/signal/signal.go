// Package signal defines where observations of a running version come from.
//
// A Source answers one question: what does metric M of version V of service S
// look like over a window? The invariant every implementation keeps is that an
// absent answer is ErrNoData, never a zero: a zero error rate is good news, a
// missing error rate is no news, and the detector treats the two differently
// (Healthy versus Blind). Rollbacks must never be caused by telemetry going
// missing.
package signal

import (
	"context"
	"errors"
	"time"
)

// ErrNoData is returned when a source has nothing to say for the query: no
// samples in the window, an empty or NaN query result, or a source that is
// unreachable. Callers check it with errors.Is.
var ErrNoData = errors.New("signal: no data")

// Metric names understood by the detector. Sources may offer others; a
// threshold on an unknown metric is a config error.
const (
	ErrorRate         = "error_rate"         // failed / total requests (5xx and connection failures)
	HTTP5xxRate       = "http_5xx_rate"      // 5xx responses / total requests
	LatencyP50        = "latency_p50_ms"     // median latency in milliseconds
	LatencyP99        = "latency_p99_ms"     // 99th percentile latency in milliseconds
	TTFBP50           = "ttfb_p50_ms"        // median time to first byte (first token of a stream), ms
	TTFBP99           = "ttfb_p99_ms"        // 99th percentile time to first byte, ms
	Throughput        = "throughput_rps"     // requests per second over the window
	QualityScore      = "quality_score"      // mean quality score, 0..1, higher is better
	HallucinationRate = "hallucination_rate" // share of answers judged hallucinated
	ToxicOutputRate   = "toxic_output_rate"  // share of answers judged toxic
	CPUUsage          = "cpu_usage"          // cores in use (pushed or scraped)
	MemoryBytes       = "memory_bytes"       // resident memory (pushed or scraped)
	// GPUUtilization is the share of time the version's GPUs were busy,
	// 0..1 (NVIDIA's DCGM_FI_DEV_GPU_UTIL is a percentage: divide by 100).
	GPUUtilization = "gpu_utilization"
	// GPUMemoryBytes is GPU framebuffer memory in use, bytes (DCGM's
	// DCGM_FI_DEV_FB_USED is MiB: multiply by 1048576).
	GPUMemoryBytes = "gpu_memory_bytes"
	// ShadowMismatchRate is the share of a version's shadow copies whose
	// answer disagreed with the live answer (strategy.shadow.compare). It
	// exists only in shadow, so the controller adds its rule there and a
	// policy cannot name it.
	ShadowMismatchRate = "shadow_mismatch_rate"
)

// Kind tells the detector how a metric's value relates to its sample count,
// which decides how much confidence a threshold crossing needs.
type Kind int

const (
	// KindRate is a share of samples (errors/requests): Value*Samples events
	// were observed, so a binomial confidence bound applies.
	KindRate Kind = iota
	// KindQuantile is a latency quantile estimated from Samples observations.
	KindQuantile
	// KindGauge is a mean or level (quality score, throughput, memory, GPU
	// utilisation and memory): a reading, not a count of events, so it has
	// no sequential evidence and the fixed-window rule judges it.
	KindGauge
)

// KindOf reports the kind of a known metric; unknown metrics are gauges.
func KindOf(metric string) Kind {
	switch metric {
	case ErrorRate, HTTP5xxRate, HallucinationRate, ToxicOutputRate, ShadowMismatchRate:
		return KindRate
	case LatencyP50, LatencyP99, TTFBP50, TTFBP99:
		return KindQuantile
	default:
		return KindGauge
	}
}

// Known lists the metrics that thresholds may name.
var Known = []string{ErrorRate, HTTP5xxRate, LatencyP50, LatencyP99, TTFBP50, TTFBP99, Throughput,
	QualityScore, HallucinationRate, ToxicOutputRate, CPUUsage, MemoryBytes, GPUUtilization, GPUMemoryBytes}

// IsKnown reports whether metric is one of Known.
func IsKnown(metric string) bool {
	for _, m := range Known {
		if m == metric {
			return true
		}
	}
	return false
}

// Query asks for one metric of one version over [Since, At].
type Query struct {
	Service string
	Version string
	Metric  string
	// Since is the start of the window; samples before it are ignored. The
	// controller sets it to the later of (now - policy window) and the moment
	// the version started being watched, so a verdict never mixes traffic from
	// before a deploy or a switch.
	Since time.Time
	// At is "now" as the controller sees it; sources must not read the clock
	// themselves where they can avoid it, so tests control time.
	At time.Time
	// Bounds are the limits (in the metric's unit, e.g. ms) of a quantile
	// metric that the guard tests; a source that can count observations
	// above them returns Sample.Counts for each.
	Bounds []float64
}

// Count is cumulative sequential evidence about one metric of one version:
// N observations, Bad of them bad. For rates (errors, toxic answers) Bad
// counts the bad ones; for a quantile metric and a bound, the observations
// above the bound; for a score in [0, 1] (quality) Bad may be fractional,
// the sum of (1 - score). Counts only grow while a counter lives; a source
// that restarted may start again from zero.
type Count struct {
	N   int64   `json:"n"`
	Bad float64 `json:"bad"`
}

// Sample is one answer: the value, how many observations it rests on, and the
// span it covers.
//
// Counts, when the source can give them, are the evidence the sequential
// tests run on, cumulative since the source started counting (never a
// windowed figure: a window re-reports the same requests on every read,
// and a test fed the same requests twice loses its error guarantee). Rates
// and scores use key 0; quantile metrics one key per Query.Bounds entry.
// Sources that only have windowed values (a PromQL ratio over rate[30s])
// leave Counts nil and are judged by the fixed-window rule.
type Sample struct {
	Value   float64
	Samples int64
	Window  time.Duration
	At      time.Time
	Counts  map[float64]Count
	// CountsSince is when the source started Counts (a switch restarts a
	// version's counters when it goes live); zero when unknown. A guard
	// takes a first reading that began before its watch as a base, not as
	// evidence: those requests belong to an earlier watch.
	CountsSince time.Time
}

// Source reads one metric. Implementations must be safe for concurrent use.
type Source interface {
	Read(ctx context.Context, q Query) (Sample, error)
}
