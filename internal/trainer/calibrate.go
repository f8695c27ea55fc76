package trainer

import "math"

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
