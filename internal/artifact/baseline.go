package artifact

import "math"

// Baseline lets an anomaly model's scorer follow a plant whose normal moves (another
// operating point, a season, a re-tuned loop) after a short history: the scorer keeps
// the distribution of its own score over the recent past, with counts that halve
// every HalfLife seconds, and when the Quantile of that distribution is above Ref
// (the same quantile over the held-out windows the levels were calibrated on), it
// divides the score by the ratio, a divisor that may at most double every Doubling
// seconds. A fault that comes and goes does not move an upper quantile, and one that
// grows faster than the divisor may rise outruns it, so both still alert; a new normal
// that holds for days stops alerting (scoring's baseline has the measured trade-off).
type Baseline struct {
	Quantile float64 `json:"quantile"`
	Ref      float64 `json:"ref"`
	HalfLife float64 `json:"half_life_s"`
	// Doubling is the shortest time, in seconds, in which the divisor may double: a
	// fault whose score grows faster than that outruns the baseline and alerts; a
	// change slower than that is followed.
	Doubling float64 `json:"doubling_s"`
	// MinWindows of recent weight are needed before the baseline moves the score.
	MinWindows float64 `json:"min_windows"`
	// TailRate (format 6), when above 0, holds the recent past to a false-alarm rate:
	// the share of windows the recent distribution of the score may put above the warn
	// level (an exponential tail model, as the trainer's calibration) before the
	// scorer divides the statistical score by more than the quantile's ratio, enough to
	// bring that share back to TailRate. It is the stated rate with a tolerance
	// (trainer's tailTolerance). A normal whose bulk stayed while its tail grew heavier
	// (load spikes that became routine) otherwise alarmed at many times the stated rate.
	// 0 (models before format 6, and levels not placed by a rate) leaves the tail to
	// the held-out calibration.
	TailRate float64 `json:"tail_rate,omitempty"`
}

func (b *Baseline) validate(add func(string, ...any)) {
	if !(b.Quantile > 0 && b.Quantile < 1) {
		add("baseline quantile %v: want 0 < q < 1", b.Quantile)
	}
	if !(b.Ref > 0) || math.IsInf(b.Ref, 0) {
		add("baseline ref %v: want a finite value > 0", b.Ref)
	}
	if !(b.HalfLife > 0) || math.IsInf(b.HalfLife, 0) {
		add("baseline half-life %v s: want a finite value > 0", b.HalfLife)
	}
	if !(b.Doubling > 0) || math.IsInf(b.Doubling, 0) {
		add("baseline doubling time %v s: want a finite value > 0", b.Doubling)
	}
	if !(b.MinWindows >= 1) || math.IsInf(b.MinWindows, 0) {
		add("baseline min_windows %v: want a finite value >= 1", b.MinWindows)
	}
	if !(b.TailRate >= 0 && b.TailRate < 1) {
		add("baseline tail_rate %v: want 0 (off) or a share of windows below 1", b.TailRate)
	}
}
