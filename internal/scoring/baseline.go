package scoring

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/faultline/faultline/internal/artifact"
)

// Bins of the baseline histogram: score / Ref from 2^-binsBelow to 2^(bins/perOctave -
// binsBelow), perOctave bins per doubling. A score outside goes to the end bin.
const (
	perOctave = 4
	binsBelow = 10
	nBins     = 26 * perOctave
)

// baseline follows the distribution of the process score over the recent past
// (artifact.Baseline): a histogram of log score whose counts decay with the model's
// half-life, so it weighs the last days and forgets older ones. Its quantile over the
// held-out block's (Ref) says how far the typical score of the present has moved from
// the score the levels were calibrated on; the stream divides the score by that
// factor (never below 1), which may at most double every Doubling seconds. A fault
// that holds a minority of the recent past does not move an upper-decile quantile; a
// fault that grows faster than the doubling time outruns the divisor and alerts; a
// new normal that persists (another operating point, a season) stops alerting within
// days instead of alerting for ever. It learns from every window, alerting or not
// (except windows with a sensor fault, which Stream.push leaves out):
// learning only from calm windows taught it the calm part of a moved plant alone, so
// the moved plant went on alerting (TestBaselineFollowsAMovedPlantAndStillCatchesAFault).
// The price: a fault that holds steady, unattended, is followed too, and its alert
// clears after days (at 3x the warn level, about six).
//
// With a TailRate the same histogram also holds the recent past to a false-alarm
// rate: the quantile's ratio assumes the recent scores are the held-out ones scaled,
// but a normal can keep its bulk and grow a heavier tail (load spikes that became
// routine: NAB's cpu_utilization alarmed 1.4 times a week against the 0.25 stated).
// The tail factor is what the statistical score must be divided by for the recent
// distribution's tail model (the trainer's: exponential excesses above the upper
// fifth) to cross the warn level at TailRate; it rises no faster than the factor
// does, and it reads the upper fifth and decile only, so a fault that cannot move
// the factor cannot move it either. Limit alarms (the envelope) are divided by the
// quantile's factor alone: a value outside the healthy range says the same however
// heavy the statistic's tail has become, and dividing them by the tail factor too
// slowed TestBaselineFollowsAMovedPlantAndStillCatchesAFault's fault from 110 to 244
// minutes.
type baseline struct {
	b       *artifact.Baseline
	counts  [nBins]float64
	total   float64
	inc     float64 // weight of the next observation: grows instead of decaying counts
	last    time.Time
	factor  float64
	tail    float64 // the tail factor (1 without TailRate)
	warnRef float64 // the warn level over Ref: where the tail model must land
	// pending is the current window's process score, learned once the stream knows
	// it is not a sensor fault.
	pending float64
	// stat is the current window's score before the envelope raised it (limited says
	// it did): set by the envelope stage, read by apply.
	stat    float64
	limited bool
}

func newBaseline(b *artifact.Baseline, warn float64) *baseline {
	bl := &baseline{b: b, warnRef: warn / b.Ref}
	bl.reset()
	return bl
}

func (bl *baseline) reset() {
	clear(bl.counts[:])
	bl.total, bl.inc, bl.last, bl.factor, bl.tail = 0, 1, time.Time{}, 1, 1
	bl.limited = false
}

// Tail model of the recent past: exponential excesses above its tailFrom quantile,
// the trainer's (trainer.tailFrom) for the warn level. A higher threshold would fit a
// burst-laden tail more closely but moves with a few hours of a fault: the upper
// fiftieth of a week is three hours, and on the simulated plant (--detector monitor,
// seed 2) it cut the median lead of the failures from 32.9 to 26.9 hours (bearing
// wear followed as it grew). The model waits for TailWarmup windows of weight (a few
// dozen above the threshold).
const (
	tailFrom = 0.8
	// TailWarmup is the recent weight, in windows, the tail model waits for. A
	// baseline whose half-life holds fewer windows never gets there, and the trainer
	// then writes no tail rate (trainer.baselineFor).
	TailWarmup = 100
)

// divisor is what the statistical score is divided by: the larger factor.
func (bl *baseline) divisor() float64 { return math.Max(bl.factor, bl.tail) }

// divide takes a window's score to the alerting score: the statistical part over the
// divisor, a limit alarm (the envelope's part, when it raised the score) over the
// quantile's factor alone. Without a tail factor both are the factor, as before.
func (bl *baseline) divide(score float64) float64 {
	stat, limit := score, 0.0
	if bl.limited {
		stat, limit = bl.stat, score
		bl.limited = false
	}
	return math.Max(stat/bl.divisor(), limit/bl.factor)
}

// beforeLimit records the statistical score before the envelope raised it to score.
func (bl *baseline) beforeLimit(stat, score float64) {
	if score > stat {
		bl.stat, bl.limited = stat, true
	}
}

// learn adds score, the process score of the window at time at, to the recent past,
// and moves the factor the next windows are divided by (the current window was
// divided by the one before: a sudden fault is judged against the baseline before
// it). A time before the last one learned (a restored state meeting an older sample,
// a replay) decays nothing and cannot lower the factor below 1.
func (bl *baseline) learn(at time.Time, score float64) {
	if math.IsNaN(score) || math.IsInf(score, 0) {
		return
	}
	var dt float64
	if !bl.last.IsZero() {
		dt = max(0, at.Sub(bl.last).Seconds())
	}
	if dt > 0 {
		// Decay by growing the weight of new observations; rescale before it overflows.
		bl.inc *= math.Exp2(dt / bl.b.HalfLife)
		if bl.inc > 1e200 {
			for i := range bl.counts {
				bl.counts[i] /= bl.inc
			}
			bl.total /= bl.inc
			bl.inc = 1
		}
	}
	if at.After(bl.last) {
		bl.last = at
	}
	bl.counts[bin(score/bl.b.Ref)] += bl.inc
	bl.total += bl.inc
	// The factor needs MinWindows windows' worth of recent weight: before that the
	// held-out calibration stands.
	if bl.total >= bl.b.MinWindows*bl.inc {
		bl.factor = bl.rise(bl.factor, bl.quantile(bl.b.Quantile), dt)
		if bl.b.TailRate > 0 && bl.warnRef > 0 && bl.total >= TailWarmup*bl.inc {
			// Capped as the quantile's factor is by the histogram's top bin, so a saved
			// state always restores (RestoreBaseline refuses more).
			bl.tail = math.Min(maxFactor, bl.rise(bl.tail, bl.tailLevel(bl.b.TailRate)/bl.warnRef, dt))
		}
	}
}

// rise moves factor f towards target (never below 1), at most as fast as Doubling
// allows upwards: a fault whose score grows faster outruns it and alerts.
func (bl *baseline) rise(f, target float64, dt float64) float64 {
	if target > f {
		target = math.Min(target, f*math.Exp2(dt/bl.b.Doubling))
	}
	return math.Max(1, target)
}

// tailLevel is the level (score / Ref) the recent past crosses in a share rate of
// its windows, from the tail model: u + beta ln((1 - tailFrom) / rate), u the
// tailFrom quantile and beta the scale of the exponential excesses above it, taken
// from their median (beta ln 2 for an exponential law) rather than their mean: a
// handful of extreme windows (a sensor coming back from a stuck spell, an outage's
// edges) would otherwise carry the mean and the level with it.
func (bl *baseline) tailLevel(rate float64) float64 {
	p := 1 - tailFrom
	if rate >= p {
		return bl.quantile(1 - rate)
	}
	u := bl.quantile(tailFrom)
	beta := (bl.quantile(1-p/2) - u) / math.Ln2
	return u + beta*math.Log(p/rate)
}

func bin(x float64) int {
	if !(x > 0) {
		return 0
	}
	k := int(math.Floor((math.Log2(x) + binsBelow) * perOctave))
	return min(max(k, 0), nBins-1)
}

// quantile of score / Ref, interpolated geometrically inside its bin.
func (bl *baseline) quantile(q float64) float64 {
	want := q * bl.total
	var cum float64
	for k, c := range bl.counts {
		if cum+c >= want && c > 0 {
			frac := (want - cum) / c
			return math.Exp2((float64(k)+frac)/perOctave - binsBelow)
		}
		cum += c
	}
	return math.Exp2(float64(nBins)/perOctave - binsBelow)
}

// BaselineState is a stream's baseline as the daemon keeps it across a restart (and a
// model reload): a plant whose normal moved would otherwise alarm again for days while
// the baseline learns it back at its doubling rate. Counts are the histogram's bins
// from From on, scaled so the newest window weighs 1.
type BaselineState struct {
	From   int       `json:"from"`
	Counts []float64 `json:"counts"`
	Last   time.Time `json:"last"`
	Factor float64   `json:"factor"`
	// Tail is the tail factor (models with a TailRate); a state saved without it
	// restores 1, from which the tail factor rises again at the doubling rate.
	Tail float64 `json:"tail,omitempty"`
}

// BaselineState returns the stream's baseline; false for a model without one or a
// stream that has not scored yet.
func (st *Stream) BaselineState() (BaselineState, bool) {
	bl := st.baselineStage()
	if bl == nil || bl.total == 0 {
		return BaselineState{}, false
	}
	lo, hi := 0, nBins
	for lo < hi && bl.counts[lo] == 0 {
		lo++
	}
	for hi > lo && bl.counts[hi-1] == 0 {
		hi--
	}
	s := BaselineState{From: lo, Counts: make([]float64, hi-lo), Last: bl.last, Factor: bl.factor}
	if bl.b.TailRate > 0 {
		s.Tail = bl.tail
	}
	for i := range s.Counts {
		s.Counts[i] = bl.counts[lo+i] / bl.inc
	}
	return s, true
}

// RestoreBaseline loads a baseline saved by BaselineState into a stream of the same
// model. It refuses a state that does not fit (another bin layout, non-finite or
// negative counts) and leaves the stream as it was.
func (st *Stream) RestoreBaseline(s BaselineState) error {
	bl := st.baselineStage()
	if bl == nil {
		return errors.New("baseline: the model has none")
	}
	if s.From < 0 || len(s.Counts) > nBins-s.From {
		return fmt.Errorf("baseline: bins %d..%d outside 0..%d", s.From, s.From+len(s.Counts), nBins)
	}
	if !(s.Factor >= 1) || s.Factor > maxFactor {
		return fmt.Errorf("baseline: factor %v, want 1 to %v", s.Factor, maxFactor)
	}
	if s.Tail != 0 && (!(s.Tail >= 1) || s.Tail > maxFactor) {
		return fmt.Errorf("baseline: tail factor %v, want 1 to %v (or absent)", s.Tail, maxFactor)
	}
	var total float64
	for _, c := range s.Counts {
		if !(c >= 0) || math.IsInf(c, 0) {
			return fmt.Errorf("baseline: count %v, want a finite value >= 0", c)
		}
		total += c
	}
	bl.reset()
	copy(bl.counts[s.From:], s.Counts)
	bl.total, bl.last, bl.factor = total, s.Last, s.Factor
	if s.Tail >= 1 && bl.b.TailRate > 0 {
		bl.tail = s.Tail
	}
	if total < bl.b.MinWindows {
		// A factor the counts could not have produced: the held-out calibration
		// stands until the baseline has warmed up again.
		bl.factor, bl.tail = 1, 1
	}
	return nil
}

// maxFactor bounds a restored factor: the histogram's top bin is 2^16 x Ref.
const maxFactor = 1 << 16
