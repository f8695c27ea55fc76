package scoring

import (
	"math"

	"github.com/faultline/faultline/internal/artifact"
)

// Sensor issues a SensorChecker reports (Result.SensorIssue).
const (
	IssueStuck   = "stuck"
	IssueSpiking = "spiking"
	IssueSilent  = "silent"
	// IssueImpulsive is not a sensor issue: two or more sensors made an excursion
	// beyond their healthy ones on the same sample. Independent transmitters do not
	// spike together; a process that has turned impulsive (cavitation, a loose part,
	// a water hammer) moves all the sensors it reaches at once.
	IssueImpulsive = "impulsive"
)

// Defaults of the sensor checks the trainer writes into a model.
const (
	DefaultStuckRatio = 0.01
	DefaultJumpFactor = 2
)

// SensorChecker follows each target's own signal over the model's window: how many
// of the window's values are missing, the span of the observed ones and the spikes
// (one sample that leaves and comes back, steeper than any healthy step). It is both
// how the trainer learns the healthy limits (Learn) and how a stream applies them
// (Check), so the two measure the same thing. It follows every spec sensor, context
// sensors included. Not safe for concurrent use.
type SensorChecker struct {
	w      int
	ring   [][]float64 // per target, the last w values (NaN = missing)
	spikes [][]bool    // per target, whether the sample at that slot was a spike's peak
	nSpike []int
	// rough marks the turns of reversals beyond the healthy ones that are no spikes
	// (artifact.SensorCheck.MaxReversal): a signal that makes them is itself rough,
	// not calm with a glitch.
	rough  [][]bool
	nRough []int
	// impulse marks the window's rows where an impulsive (multi-sensor) excursion
	// peaked; impulseAt is the sensor that led the latest one.
	impulse   []bool
	nImpulse  int
	impulseAt int
	// unusual is, per target, the peak row of its latest excursion beyond the
	// healthy ones, spikeAt of its latest spike (-1: none): impulses pair them by row.
	unusual, spikeAt []int
	nMiss            []int
	last             [][3]float64 // per target, the last three observed values, newest last
	lastAt           [][3]int     // the rows they were observed at
	fresh            []bool       // per target, observed in the latest row
	nObs             []int
	pos, n           int
}

// NewSensorChecker follows targets over windows of w rows.
func NewSensorChecker(targets, w int) *SensorChecker {
	c := &SensorChecker{w: w, ring: make([][]float64, targets), spikes: make([][]bool, targets),
		nSpike: make([]int, targets), rough: make([][]bool, targets), nRough: make([]int, targets), nMiss: make([]int, targets), last: make([][3]float64, targets), lastAt: make([][3]int, targets),
		fresh: make([]bool, targets), nObs: make([]int, targets), impulse: make([]bool, w), impulseAt: -1,
		unusual: make([]int, targets), spikeAt: make([]int, targets)}
	for k := range targets {
		c.ring[k] = make([]float64, w)
		c.spikes[k] = make([]bool, w)
		c.rough[k] = make([]bool, w)
		c.unusual[k], c.spikeAt[k] = -1, -1
	}
	return c
}

// Reset forgets the window (an outage restarted it).
func (c *SensorChecker) Reset() {
	for k := range c.ring {
		clear(c.spikes[k])
		clear(c.rough[k])
		c.nSpike[k], c.nRough[k], c.nMiss[k], c.nObs[k], c.fresh[k] = 0, 0, 0, 0, false
	}
	clear(c.impulse)
	c.nImpulse, c.impulseAt = 0, -1
	for k := range c.unusual {
		c.unusual[k], c.spikeAt[k] = -1, -1
	}
	c.pos, c.n = 0, 0
}

// Push adds one row of target values (NaN = missing).
func (c *SensorChecker) Push(vals []float64) {
	full := c.n >= c.w
	if full && c.impulse[c.pos] {
		c.impulse[c.pos] = false
		c.nImpulse--
	}
	for k, v := range vals {
		if full {
			if math.IsNaN(c.ring[k][c.pos]) {
				c.nMiss[k]--
			}
			if c.spikes[k][c.pos] {
				c.nSpike[k]--
			}
			if c.rough[k][c.pos] {
				c.nRough[k]--
			}
		}
		c.ring[k][c.pos] = v
		c.spikes[k][c.pos] = false
		c.rough[k][c.pos] = false
		c.fresh[k] = false
		if math.IsNaN(v) || math.IsInf(v, 0) {
			c.ring[k][c.pos] = math.NaN()
			c.nMiss[k]++
			continue
		}
		l, at := &c.last[k], &c.lastAt[k]
		l[0], l[1], l[2] = l[1], l[2], v
		at[0], at[1], at[2] = at[1], at[2], c.n
		c.fresh[k] = true
		c.nObs[k]++
	}
	c.pos = (c.pos + 1) % c.w
	c.n++
}

// full says whether the window holds w rows.
func (c *SensorChecker) full() bool { return c.n >= c.w }

// stuckRows is how many of the latest rows the stuck rule looks at: a quarter of the
// window (at least 5), so a stuck sensor is named before the window-long features
// have drifted far enough to raise a process alert on it.
func (c *SensorChecker) stuckRows() int { return min(c.w, max(5, c.w/4)) }

// span is the range of target k's observed values over the latest stuckRows rows (NaN
// if none).
func (c *SensorChecker) span(k int) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 1; i <= c.stuckRows(); i++ {
		v := c.ring[k][(c.pos-i+c.w)%c.w]
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo > hi {
		return math.NaN()
	}
	return hi - lo
}

// excursionNow is target k's excursion completed by its latest observation (0 when
// it was not observed in the latest row or has fewer than three observations).
func (c *SensorChecker) excursionNow(k int) float64 {
	if !c.fresh[k] || c.nObs[k] < 3 {
		return 0
	}
	l := c.last[k]
	return excursion(l[0], l[1], l[2])
}

// reversalNow is the smaller step of target k's latest three observations when they
// go opposite ways (0 otherwise): out and turning back, wherever it lands, the way a
// rough signal moves. An excursion is a reversal that lands near its start.
func (c *SensorChecker) reversalNow(k int) float64 {
	if !c.fresh[k] || c.nObs[k] < 3 {
		return 0
	}
	return reversal(c.last[k][0], c.last[k][1], c.last[k][2])
}

func reversal(a, b, c float64) float64 {
	up, down := b-a, c-b
	if !(up*down < 0) { // NaN too
		return 0
	}
	return math.Min(math.Abs(up), math.Abs(down))
}

// markSpikes finds the excursions the latest row completed that are larger than a
// spike (spikeLimit) and marks their peak rows while those are in the window, so a
// spike counts until its peak leaves the window. A spike with company, another
// sensor's excursion beyond its healthy ones peaking on the same row, is marked as an
// impulse of the process instead, led by the spiking sensor that went furthest;
// peaks are matched by row, so a partner whose excursion completes later (its next
// sample missing, or a slower reporting rate) turns the spike already marked into an
// impulse. A reversal beyond the healthy ones (MaxReversal) that is no spike is
// marked rough.
func (c *SensorChecker) markSpikes(sc *artifact.SensorCheck) {
	// Every excursion beyond the healthy ones completed now, spikes included, is a
	// possible partner for the others' peaks.
	for k := range c.ring {
		if base := math.Max(sc.MaxSpike[k], sc.MaxJump[k]/10); base > 0 && c.excursionNow(k) > base {
			c.unusual[k] = c.lastAt[k][1]
		}
	}
	lead, leadRatio, leadPeak := -1, 0.0, 0
	for k := range c.ring {
		j := spikeLimit(sc, k)
		e := c.excursionNow(k)
		peak := c.lastAt[k][1]
		if c.n-1-peak >= c.w {
			continue // the peak has already left the window (or none was seen)
		}
		if !(j > 0 && e > j) {
			if len(sc.MaxReversal) > 0 && c.reversalNow(k) > sc.MaxReversal[k] {
				if slot := peak % c.w; !c.rough[k][slot] {
					c.rough[k][slot] = true
					c.nRough[k]++
				}
			}
			if c.unusual[k] == peak && c.fresh[k] {
				c.lateImpulse(k, peak)
			}
			continue
		}
		if !c.joined(k, peak) {
			if slot := peak % c.w; !c.spikes[k][slot] {
				c.spikes[k][slot] = true
				c.nSpike[k]++
			}
			c.spikeAt[k] = peak
			continue
		}
		c.lateImpulse(k, peak) // a partner's spike marked before this one completed
		if r := e / j; r > leadRatio {
			lead, leadRatio, leadPeak = k, r, peak
		}
	}
	if lead < 0 {
		return
	}
	c.markImpulse(leadPeak, lead)
}

// lateImpulse turns another sensor's spike marked at peak into an impulse of the
// process, now that sensor o's excursion turned out to peak on the same row.
func (c *SensorChecker) lateImpulse(o, peak int) {
	slot := peak % c.w
	for k := range c.ring {
		if k == o || c.spikeAt[k] != peak || !c.spikes[k][slot] {
			continue
		}
		c.spikes[k][slot] = false
		c.nSpike[k]--
		c.markImpulse(peak, k)
	}
}

func (c *SensorChecker) markImpulse(peak, lead int) {
	if slot := peak % c.w; !c.impulse[slot] {
		c.impulse[slot] = true
		c.nImpulse++
	}
	c.impulseAt = lead
}

// joined says whether a sensor other than k made an excursion beyond its healthy ones
// (spikeLimit without the factor) peaking on row peak.
func (c *SensorChecker) joined(k, peak int) bool {
	for o := range c.ring {
		if o != k && c.unusual[o] == peak {
			return true
		}
	}
	return false
}

// SensorLimits are what Learn measured over healthy rows.
type SensorLimits struct {
	Lo, Hi, MinRange, MaxJump, MaxSpike, MaxMissing, MaxReversal []float64
}

// excursion is how far the middle of three consecutive observed values a, b, c went
// out and came back: the smaller of its two steps when they go opposite ways and c
// lands near a (within half of that), else 0. A start or a stop is a step, not an
// excursion; a spike is a large one.
func excursion(a, b, c float64) float64 {
	if m := reversal(a, b, c); m > 0 && math.Abs(c-a) < m/2 {
		return m
	}
	return 0
}

// spikeLimit is the excursion beyond which target k's sample is a spike: JumpFactor x
// the largest healthy excursion, but at least a tenth of the largest healthy step
// (a sensor whose healthy record holds no excursion at all is not judged on noise).
func spikeLimit(sc *artifact.SensorCheck, k int) float64 {
	return sc.JumpFactor * math.Max(sc.MaxSpike[k], sc.MaxJump[k]/10)
}

// Learn measures the healthy limits of rows (target values) over windows of w rows:
// the smallest span of the latest quarter window, the largest step between consecutive
// observed values and the largest excursion (out and back), and the largest missing share of a window while the other sensors report.
// Call it once per run of rows without an outage (the stream restarts the checker
// there) with the same limits to pool several runs and machines.
func Learn(rows [][]float64, w int, into *SensorLimits) {
	if len(rows) == 0 {
		return
	}
	nt := len(rows[0])
	if into.MinRange == nil {
		into.MinRange, into.MaxJump, into.MaxMissing = make([]float64, nt), make([]float64, nt), make([]float64, nt)
		into.MaxSpike, into.MaxReversal = make([]float64, nt), make([]float64, nt)
		into.Lo, into.Hi = make([]float64, nt), make([]float64, nt)
		for k := range nt {
			into.MinRange[k], into.Lo[k], into.Hi[k] = math.Inf(1), math.Inf(1), math.Inf(-1)
		}
	}
	c := NewSensorChecker(nt, w)
	prev := make([]float64, nt)
	for k := range prev {
		prev[k] = math.NaN()
	}
	for _, r := range rows {
		c.Push(r)
		for k := range nt {
			if c.fresh[k] && c.nObs[k] >= 3 {
				l := c.last[k]
				into.MaxSpike[k] = math.Max(into.MaxSpike[k], excursion(l[0], l[1], l[2]))
				into.MaxReversal[k] = math.Max(into.MaxReversal[k], reversal(l[0], l[1], l[2]))
			}
		}
		for k, v := range r {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				into.Lo[k], into.Hi[k] = math.Min(into.Lo[k], v), math.Max(into.Hi[k], v)
				if !math.IsNaN(prev[k]) {
					into.MaxJump[k] = math.Max(into.MaxJump[k], math.Abs(v-prev[k]))
				}
				prev[k] = v
			}
		}
		if !c.full() {
			continue
		}
		for k := range nt {
			// The conditions Check judges under: missing values while the others
			// report, a span of a window that is mostly there.
			if c.othersReport(k) {
				into.MaxMissing[k] = math.Max(into.MaxMissing[k], float64(c.nMiss[k])/float64(w))
			}
			if s := c.span(k); !math.IsNaN(s) && 5*c.nMiss[k] < c.w {
				into.MinRange[k] = math.Min(into.MinRange[k], s)
			}
		}
	}
}

// Finish turns learned limits into a model's SensorCheck (nil when no window was full).
func (l SensorLimits) Finish() *artifact.SensorCheck {
	if l.MinRange == nil {
		return nil
	}
	out := &artifact.SensorCheck{Lo: append([]float64(nil), l.Lo...), Hi: append([]float64(nil), l.Hi...),
		MinRange: append([]float64(nil), l.MinRange...), MaxJump: l.MaxJump, MaxSpike: l.MaxSpike, MaxMissing: l.MaxMissing, MaxReversal: l.MaxReversal,
		StuckRatio: DefaultStuckRatio, JumpFactor: DefaultJumpFactor}
	for k, v := range out.MinRange {
		if math.IsInf(v, 1) || math.IsInf(out.Lo[k], 0) {
			out.MinRange[k] = 0 // never a full window: no stuck rule
		}
		if math.IsInf(out.Lo[k], 0) { // never observed
			out.Lo[k], out.Hi[k] = 0, 0
		}
	}
	return out
}

// Check applies the model's limits after a Push: the first target with an issue and
// the issue, or -1 and "". IssueImpulsive is the process's, not a sensor's: it is
// reported after the sensor issues, and while an impulse is in the window a spike is
// taken for part of it. So are spikes on a sensor whose signal is itself rough, with
// roughReversals other reversals beyond its healthy ones in the window: a spiking
// transmitter is calm between its glitches, while cavitation makes vibration rough
// and its largest bursts are spikes.
func (c *SensorChecker) Check(sc *artifact.SensorCheck) (int, string) {
	c.markSpikes(sc)
	if !c.full() {
		return -1, ""
	}
	nt := len(c.ring)
	for k := range nt {
		if c.silent(sc, k) {
			return k, IssueSilent
		}
	}
	for k := range nt {
		if sc.MinRange[k] > 0 && 5*c.nMiss[k] < c.w {
			if s := c.span(k); s <= sc.StuckRatio*sc.MinRange[k] {
				if v := c.last[k][2]; v > sc.Lo[k] && v < sc.Hi[k] {
					return k, IssueStuck
				}
			}
		}
		if c.nSpike[k] >= 1 && c.nImpulse == 0 && c.nRough[k] < roughReversals {
			return k, IssueSpiking
		}
	}
	if c.nImpulse > 0 {
		return c.impulseAt, IssueImpulsive
	}
	for k := range nt {
		if c.nSpike[k] >= 1 {
			return k, IssueImpulsive // spikes in a rough signal
		}
	}
	return -1, ""
}

// silent says whether target k misses more of the window than its healthy record
// ever did (twice that, at least a fifth of the window: the share at which the
// features refuse a window, features.Spec.MaxMissingFrac's default) while the others
// report. A sensor that missed a quarter of its windows when healthy is not judged.
func (c *SensorChecker) silent(sc *artifact.SensorCheck, k int) bool {
	limit := math.Max(silentShare, 2*sc.MaxMissing[k])
	// Shares, not counts: limit x w rounds below the count it should equal.
	return sc.MaxMissing[k] < 0.25 && float64(c.nMiss[k])/float64(c.w) > limit && c.othersReport(k)
}

// roughReversals is how many reversals beyond the healthy ones, spikes apart, make a
// sensor's spikes part of a rough signal rather than a transmitter's glitches.
const roughReversals = 2

// silentShare is the smallest missing share of a window that makes a sensor silent.
const silentShare = 0.2

// othersReport says whether every target but k has at most a fifth of its window missing.
func (c *SensorChecker) othersReport(k int) bool {
	if len(c.ring) < 2 {
		return false // a single sensor's silence is an outage, not a sensor fault
	}
	for o := range c.ring {
		if o != k && 5*c.nMiss[o] > c.w {
			return false
		}
	}
	return true
}
