package trainer

import (
	"math"
	"time"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/scoring"
)

// tailFrom is the quantile of the held-out scores above which warnLevel fits its
// tail model: high enough that the tail is exponential-like, low enough that a short
// validation part leaves a few dozen exceedances to fit.
const tailFrom = 0.8

// warnLevel places the warn level so that healthy scores cross it about perWeek times a
// week: a per-window exceedance probability alpha = perWeek / (windows per week),
// which for any useful rate lies far beyond the few hundred held-out windows of a
// short history. The scores above their tailFrom quantile u are modelled as
// exponential (peaks over threshold; the smoothed score of a healthy machine has a
// light tail), so the level is u + beta x ln(p_u / alpha), with beta the mean excess.
// beta is raised by its standard error (beta / sqrt(excesses)): the fewer the
// held-out windows, the more the level is padded, the finite-sample correction that
// keeps the measured rate on new healthy data near the stated one instead of under-
// calling it. Unknown period: a window a minute.
func warnLevel(scores []float64, perWeek, period float64) float64 {
	if period <= 0 {
		period = 60
	}
	alpha := perWeek * period / (7 * 24 * 3600)
	u := quantile(scores, tailFrom)
	var sum float64
	n := 0
	for _, s := range scores {
		if s > u {
			sum += s - u
			n++
		}
	}
	pu := float64(n) / float64(len(scores))
	if n == 0 || alpha >= pu {
		return quantile(scores, 1-alpha)
	}
	beta := sum / float64(n)
	beta *= 1 + 1/math.Sqrt(float64(n))
	return u + beta*math.Log(pu/alpha)
}

// baselineQuantile is the quantile of the recent past the baseline compares with the
// held-out block's: the upper decile moves once elevated scores are a tenth of the
// recent past (most of a day in a week's memory), while a fault of a few hours does
// not move it, and a score that keeps rising stays above a quantile of its own past.
const baselineQuantile = 0.9

// baselineDoubling is the shortest time in which the baseline may double its divisor.
// Faults run their course in hours to days (bearing wear, overheating, fouling in the
// simulated plant), and the monitor's statistics are squared distances, so a
// departure that grows by 40 % in three days doubles the score: faster than that, it
// outruns the baseline and alerts. A slower change is followed as a drift; a user who
// must catch one turns the baseline off (--baseline-half-life -1s).
const baselineDoubling = 72 * time.Hour

// baselineWarmup is how much recent history the baseline needs before it moves the
// score; until then the held-out calibration stands alone. A decaying history holds at
// most half-life / ln 2 of weight, so the half-life must be at least 12 h x ln 2 for
// the baseline ever to warm up: Validate asks for a day (MinBaselineHalfLife).
const baselineWarmup = 12 * time.Hour

// tailTolerance is how far above the stated false-alarm rate the recent past may put
// its crossings of the warn level before the baseline follows its tail
// (artifact.Baseline.TailRate): the factor of two within which the calibration itself
// is taken as meeting the stated rate (TestWarnLevelMeetsStatedRateOnKnownLaw).
// Holding the recent past to the stated rate exactly would make the level follow
// every stretch of ordinary variation a normal stream has (NAB: nyc_taxi lost a
// window at a tolerance of 1 and 1.5, kept it from 2 to 6; docs/benchmarks.md).
const tailTolerance = 2

// baselineFor is the baseline of a model whose held-out scores are scores (see
// artifact.Baseline); every is the time between windows (the period x the stride).
// With perWeek > 0 (the warn level placed for that false-alarm rate) the baseline
// also holds the recent past's tail to tailTolerance times that rate. Unknown period:
// a window a minute, as warnLevel.
func baselineFor(scores []float64, halfLife time.Duration, every, perWeek float64) *artifact.Baseline {
	if every <= 0 {
		every = 60
	}
	b := &artifact.Baseline{
		Quantile:   baselineQuantile,
		Ref:        math.Max(quantile(scores, baselineQuantile), 1e-9),
		HalfLife:   halfLife.Seconds(),
		Doubling:   baselineDoubling.Seconds(),
		MinWindows: math.Max(1, baselineWarmup.Seconds()/every),
	}
	// The recent weight levels off at 1 / (1 - 2^(-every/halfLife)) windows; a tail
	// rate the baseline could never warm up for would only make the file unreadable
	// for older builds (format 6) without changing a score.
	if steady := 1 / (1 - math.Exp2(-every/halfLife.Seconds())); perWeek > 0 && steady >= 2*scoring.TailWarmup {
		b.TailRate = math.Min(tailTolerance*perWeek*every/(7*24*3600), 0.5)
	}
	return b
}
