package scoring

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/artifact"
)

// A minute a window, a week's half-life, 12 h to warm up, as the trainer's defaults on
// minute data.
func testBaseline(ref float64) *baseline {
	return newBaseline(&artifact.Baseline{Quantile: 0.9, Ref: ref, HalfLife: 7 * 24 * 3600, Doubling: 72 * 3600, MinWindows: 720}, 3*ref)
}

// observe is what a stream does with a window's process score: divide it by the
// current divisor (returned), then learn it.
func observe(bl *baseline, at time.Time, score float64) float64 {
	f := bl.divisor()
	bl.learn(at, score)
	return f
}

// testStream is a stream with only m's baseline stage.
func testStream(m *artifact.Model) *Stream {
	bl := newBaseline(m.Baseline, m.Alert.Warn)
	return &Stream{s: &Scorer{M: m}, base: bl, scoreStages: []scoreStage{bl}}
}

// healthy scores: exponential with mean 1, whose 90th percentile is ln 10.
func expScore(rng *rand.Rand) float64 { return rng.ExpFloat64() }

// The histogram's quantile of a known law lands within a bin's width (2^(1/4)).
func TestBaselineQuantileOfKnownLaw(t *testing.T) {
	bl := testBaseline(1)
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 20000 {
		observe(bl, t0.Add(time.Duration(i)*time.Minute), expScore(rng))
	}
	for _, q := range []float64{0.5, 0.9} {
		want := -math.Log(1 - q)
		if got := bl.quantile(q); math.Abs(math.Log2(got/want)) > 0.25 {
			t.Errorf("quantile %v = %.3f, want %.3f within a quarter octave", q, got, want)
		}
	}
}

// While the recent past looks like the held-out block the factor stays 1; after a
// new normal three times as high has held for some days it divides the score back
// to where the levels were calibrated, and a few hours' fault before it changes
// nothing.
func TestBaselineFollowsANewNormalNotAFault(t *testing.T) {
	ref := math.Log(10) // the healthy law's 90th percentile
	bl := testBaseline(ref)
	rng := rand.New(rand.NewPCG(5, 6))
	t0 := time.Unix(1_700_000_000, 0)
	minute := 0
	run := func(n int, scale float64) float64 {
		var f float64
		for range n {
			f = observe(bl, t0.Add(time.Duration(minute)*time.Minute), scale*expScore(rng))
			minute++
		}
		return f
	}
	if f := run(3*24*60, 1); f > 1.2 {
		t.Fatalf("factor %.2f on healthy data like the held-out block, want about 1", f)
	}
	if f := run(4*60, 5); f > 1.3 { // a four-hour fault
		t.Fatalf("factor %.2f after a four-hour fault, want it still about 1", f)
	}
	run(24*60, 1)
	f := run(5*24*60, 3) // five days at a new operating point
	if f < 2.2 || f > 3.8 {
		t.Fatalf("factor %.2f after five days at three times the healthy score, want about 3", f)
	}
}

// A degradation still alerts: a score rising e-fold every 12 hours, day or two days
// from the healthy level crosses a warn level of three times Ref, and then stays
// above it for the rest of the fortnight. The baseline follows the rise at most at
// its doubling rate, so the slower the rise, the later the alert: the delays are
// bounded here (measured: 44 min, 5.5 h and 37 h).
func TestBaselineStaysBehindARisingFault(t *testing.T) {
	const warn = 3.0
	for _, c := range []struct {
		efold    time.Duration
		maxDelay time.Duration
	}{{12 * time.Hour, 90 * time.Minute}, {24 * time.Hour, 8 * time.Hour}, {48 * time.Hour, 42 * time.Hour}} {
		bl := testBaseline(1)
		t0 := time.Unix(1_700_000_000, 0)
		start := 3 * 24 * 60
		tau := c.efold.Minutes()
		plain := float64(start) + tau*math.Log(6) // 0.5 e^(m/tau) = 3
		raised := -1
		for i := range 14 * 24 * 60 {
			score := 0.5
			if i > start {
				score = 0.5 * math.Exp(float64(i-start)/tau)
			}
			judged := score / observe(bl, t0.Add(time.Duration(i)*time.Minute), score)
			if raised < 0 && judged >= warn {
				raised = i
			}
			if raised >= 0 && judged < warn {
				t.Fatalf("e-fold %v: minute %d: judged %.2f fell under the warn level after the alert at minute %d", c.efold, i, judged, raised)
			}
		}
		delay := time.Duration(float64(raised)-plain) * time.Minute
		t.Logf("e-fold %v: alert %v after the plain level", c.efold, delay.Round(time.Minute))
		if raised < 0 || delay > c.maxDelay {
			t.Fatalf("e-fold %v: alert at minute %d, %.0f without a baseline: want at most %v later", c.efold, raised, plain, c.maxDelay)
		}
	}
}

// Before the warm-up weight the held-out calibration stands alone, and after it the
// divisor rises no faster than its doubling time, however high the recent scores.
func TestBaselineWarmupAndRiseLimit(t *testing.T) {
	bl := testBaseline(1)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 600 { // 10 h < 12 h warm-up
		if f := observe(bl, t0.Add(time.Duration(i)*time.Minute), 10); f != 1 {
			t.Fatalf("factor %v during warm-up, want 1", f)
		}
	}
	for i := 600; i < 600+72*60; i++ {
		observe(bl, t0.Add(time.Duration(i)*time.Minute), 10)
	}
	// 70 h after warm-up at the limit: at most 2^(70/72).
	if f := bl.factor; f > math.Exp2(71.0/72) || f < 1.8 {
		t.Fatalf("factor %v 70 h after warm-up under scores 10x Ref, want about 2 (the doubling time's limit)", f)
	}
}

// A saved state restores to the same factors, and a state that does not fit is
// refused without touching the stream.
func TestBaselineStateRoundTrip(t *testing.T) {
	m := &artifact.Model{Modes: artifact.Modes{Baseline: &artifact.Baseline{Quantile: 0.9, Ref: 1, HalfLife: 3600, Doubling: 3600, MinWindows: 10}}}
	a := testStream(m)
	b := testStream(m)
	t0 := time.Unix(1_700_000_000, 0)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 500 {
		observe(a.baselineStage(), t0.Add(time.Duration(i)*time.Minute), 3*expScore(rng))
	}
	s, ok := a.BaselineState()
	if !ok {
		t.Fatal("no state after 500 windows")
	}
	if err := b.RestoreBaseline(s); err != nil {
		t.Fatal(err)
	}
	for i := 500; i < 700; i++ {
		v, at := 3*expScore(rng), t0.Add(time.Duration(i)*time.Minute)
		fa, fb := observe(a.baselineStage(), at, v), observe(b.baselineStage(), at, v)
		if math.Abs(fa-fb) > 1e-9*fa {
			t.Fatalf("window %d: factor %v after restore, %v before", i, fb, fa)
		}
	}
	kept, _ := b.BaselineState()
	for _, bad := range []BaselineState{
		{From: -1, Counts: []float64{1}, Factor: 1},
		{From: nBins - 1, Counts: []float64{1, 1}, Factor: 1},
		{Counts: []float64{math.NaN()}, Factor: 1},
		{Counts: []float64{1}, Factor: 0.5},
	} {
		if err := b.RestoreBaseline(bad); err == nil {
			t.Errorf("state %+v accepted", bad)
		}
	}
	if now, _ := b.BaselineState(); !reflect.DeepEqual(now, kept) {
		t.Errorf("refused states changed the stream: %+v, was %+v", now, kept)
	}
}

// A restored state that meets an older sample (a replay, a clock that was ahead when
// the state was saved) keeps its factor, never below 1, and a restored factor its
// counts could not have produced is refused or reset.
func TestBaselineTimeGoingBack(t *testing.T) {
	m := &artifact.Model{Modes: artifact.Modes{Baseline: &artifact.Baseline{Quantile: 0.9, Ref: 1, HalfLife: 3600, Doubling: 3600, MinWindows: 10}}}
	a := testStream(m)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 300 {
		observe(a.baselineStage(), t0.Add(time.Duration(i)*time.Minute), 3)
	}
	s, _ := a.BaselineState()
	for _, back := range []time.Duration{time.Minute, 24 * time.Hour, 50 * 365 * 24 * time.Hour} {
		b := testStream(m)
		if err := b.RestoreBaseline(s); err != nil {
			t.Fatal(err)
		}
		for i := range 30 {
			observe(b.baselineStage(), s.Last.Add(-back+time.Duration(i)*time.Second), 0.1)
			if f := b.base.factor; f < 1 || f > s.Factor*1.0001 {
				t.Fatalf("%v back: factor %v after restoring %v, want within [1, restored]", back, f, s.Factor)
			}
		}
		if b.base.last != s.Last {
			t.Fatalf("%v back: last %v, want it kept at %v", back, b.base.last, s.Last)
		}
	}
	if err := a.RestoreBaseline(BaselineState{Counts: []float64{1}, Factor: 1e300}); err == nil {
		t.Error("a factor of 1e300 was accepted")
	}
	if err := a.RestoreBaseline(BaselineState{Counts: []float64{1}, Factor: 50}); err != nil || a.base.factor != 1 {
		t.Errorf("factor 50 restored with one window of counts: %v, factor %v; want accepted and reset to 1", err, a.base.factor)
	}
}

// tailBaseline is testBaseline holding the recent past to rate, for a warn level of
// warn x Ref.
func tailBaseline(ref, warn, rate float64) *baseline {
	return newBaseline(&artifact.Baseline{Quantile: 0.9, Ref: ref, HalfLife: 7 * 24 * 3600, Doubling: 72 * 3600, MinWindows: 720, TailRate: rate}, warn)
}

// crossings streams n minutes of law through bl from minute m0 and returns the share
// of windows whose judged score reaches warn.
func crossings(bl *baseline, m0, n int, warn float64, law func() float64) float64 {
	t0 := time.Unix(1_700_000_000, 0)
	over := 0
	for i := m0; i < m0+n; i++ {
		v := law()
		if v/observe(bl, t0.Add(time.Duration(i)*time.Minute), v) >= warn {
			over++
		}
	}
	return float64(over) / float64(n)
}

// On a known law the tail rule holds the recent past to the stated rate. The levels
// were calibrated on Exp(1): Ref its upper decile, warn where it crosses in alpha of
// the windows. Fresh Exp(1) keeps about that rate (the rule leaves a stationary
// stream alone). A new normal with the same bulk and a tail twice as long (above its
// upper fifth, ln 5, the excesses are Exp with mean 2) moves the upper decile by 1.3
// and crosses at about four times alpha with the quantile's ratio alone; the rule
// divides by about 1.5 instead and lands at its TailRate, 2 alpha. The divisor stays
// bounded, so a fault at three times the warn level still crosses in every window of
// its first hour.
func TestBaselineTailHoldsTheStatedRate(t *testing.T) {
	const alpha = 0.002
	ref, warn := math.Log(10), -math.Log(alpha)
	rng := rand.New(rand.NewPCG(9, 10))
	calm := func() float64 { return expScore(rng) }
	longer := func() float64 {
		if x := expScore(rng); x < math.Log(5) {
			return x
		}
		return math.Log(5) + 2*expScore(rng)
	}
	const week = 7 * 24 * 60
	for _, c := range []struct {
		name     string
		law      func() float64
		rate     float64
		min, max float64 // crossing rate over alpha, weeks 2 to 5
	}{
		{"stationary, quantile only", calm, 0, 0.5, 2},
		{"stationary, tail rule", calm, 2 * alpha, 0.5, 2},
		{"longer tail, quantile only", longer, 0, 3, math.Inf(1)},
		{"longer tail, tail rule", longer, 2 * alpha, 1, 2.6},
	} {
		bl := tailBaseline(ref, warn, c.rate)
		crossings(bl, 0, week, warn, c.law)
		got := crossings(bl, week, 4*week, warn, c.law) / alpha
		t.Logf("%s: crossing rate %.2f x alpha, divisor %.2f (quantile's %.2f)", c.name, got, bl.divisor(), bl.factor)
		if got < c.min || got > c.max {
			t.Errorf("%s: crossing rate %.2f x alpha, want %.1f to %.1f", c.name, got, c.min, c.max)
		}
		if fault := crossings(bl, 5*week, 60, warn, func() float64 { return 3 * warn }); fault < 1 {
			t.Errorf("%s: a fault at three times the warn level crossed in %.0f%% of its first hour's windows, want all", c.name, 100*fault)
		}
	}
}

// A fault that holds a minority of the recent past does not make the tail rule
// divide by more than the quantile's factor alone: the tail model reads the recent
// past's upper fifth and decile only. After a week of healthy Exp(1) scores, a wear
// whose score grows from the healthy law to five times it over a day and a half ends
// with the divisor the baseline had without the rule.
func TestBaselineTailIgnoresAGrowingFault(t *testing.T) {
	const alpha = 0.002
	ref, warn := math.Log(10), -math.Log(alpha)
	rng := rand.New(rand.NewPCG(13, 14))
	bl := tailBaseline(ref, warn, 2*alpha)
	const week, fault = 7 * 24 * 60, 36 * 60
	crossings(bl, 0, week, warn, func() float64 { return expScore(rng) })
	minute := 0
	crossings(bl, week, fault, warn, func() float64 {
		minute++
		return (1 + 4*float64(minute)/fault) * expScore(rng)
	})
	t.Logf("after the fault: tail factor %.2f, quantile's %.2f", bl.tail, bl.factor)
	if bl.tail > bl.factor {
		t.Fatalf("after a growing fault of 36 h: tail factor %.2f above the quantile's %.2f", bl.tail, bl.factor)
	}
}

// A limit alarm (the envelope raised the score) is divided by the quantile's factor
// alone, the statistical score by the larger tail factor; without a limit the whole
// score is the statistical one.
func TestBaselineTailLeavesLimitAlarms(t *testing.T) {
	bl := tailBaseline(1, 3, 0.01)
	bl.factor, bl.tail = 2, 5
	if got := bl.divide(10); got != 2 {
		t.Errorf("statistical score 10: %v, want 10 / 5", got)
	}
	bl.beforeLimit(10, 30) // the envelope raised 10 to 30
	if got := bl.divide(30); got != 15 {
		t.Errorf("limit alarm 30 over a statistical 10: %v, want 30 / 2", got)
	}
	if got := bl.divide(10); got != 2 {
		t.Errorf("the next window without a limit: %v, want 10 / 5 (the limit is per window)", got)
	}
	bl.beforeLimit(40, 30) // a limit below the statistical score does not raise it
	if got := bl.divide(40); got != 8 {
		t.Errorf("statistical 40 above the limit: %v, want 40 / 5", got)
	}
}

// A state saved with a tail factor restores it; a state saved before the tail rule
// (no tail field) restores the tail factor to 1, and a tail factor below 1 is
// refused.
func TestBaselineStateKeepsTheTailFactor(t *testing.T) {
	m := &artifact.Model{Modes: artifact.Modes{Baseline: &artifact.Baseline{Quantile: 0.9, Ref: 1, HalfLife: 86400, Doubling: 3600, MinWindows: 10, TailRate: 0.01}}}
	m.Alert.Warn = 2
	a := testStream(m)
	t0 := time.Unix(1_700_000_000, 0)
	rng := rand.New(rand.NewPCG(11, 12))
	heavy := func() float64 {
		if rng.Float64() < 0.05 {
			return 20 * expScore(rng)
		}
		return expScore(rng)
	}
	for i := range 2000 {
		observe(a.baselineStage(), t0.Add(time.Duration(i)*time.Minute), heavy())
	}
	s, _ := a.BaselineState()
	if s.Tail <= s.Factor {
		t.Fatalf("tail factor %v not above the quantile's %v under a heavy tail: the test does not exercise it", s.Tail, s.Factor)
	}
	b := testStream(m)
	if err := b.RestoreBaseline(s); err != nil || b.base.tail != s.Tail {
		t.Fatalf("restored tail factor %v (%v), want %v", b.base.tail, err, s.Tail)
	}
	old := s
	old.Tail = 0
	if err := b.RestoreBaseline(old); err != nil || b.base.tail != 1 || b.base.factor != s.Factor {
		t.Fatalf("state without a tail factor: tail %v factor %v (%v), want 1 and %v", b.base.tail, b.base.factor, err, s.Factor)
	}
	bad := s
	bad.Tail = 0.5
	if err := b.RestoreBaseline(bad); err == nil {
		t.Error("a tail factor of 0.5 was accepted")
	}
}

// The tail factor is capped as the quantile's factor is (the top bin, maxFactor), so
// a state the stream saved always restores, even after weeks of a regime the model
// never saw.
func TestBaselineSavedTailAlwaysRestores(t *testing.T) {
	// Trainer-like: minute windows, a week's half-life, 72 h doubling, 0.25/week x 2.
	rate := 2 * 0.25 * 60 / (7 * 24 * 3600.0)
	m := &artifact.Model{Modes: artifact.Modes{Baseline: &artifact.Baseline{Quantile: 0.9, Ref: 1, HalfLife: 7 * 86400, Doubling: 72 * 3600, MinWindows: 720, TailRate: rate}}}
	m.Alert.Warn = 3
	a := testStream(m)
	t0 := time.Unix(1_700_000_000, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	// 85 % of windows ordinary, 15 % enormous (a regime the model never saw).
	for i := range 60 * 24 * 7 * 8 { // eight weeks of minutes
		v := expScore(rng)
		if rng.Float64() < 0.15 {
			v = 2e4
		}
		observe(a.baselineStage(), t0.Add(time.Duration(i)*time.Minute), v)
	}
	s, _ := a.BaselineState()
	if s.Tail != maxFactor {
		t.Fatalf("tail factor %v after weeks at 2e4 x Ref, want it held at %v", s.Tail, float64(maxFactor))
	}
	b := testStream(m)
	if err := b.RestoreBaseline(s); err != nil {
		t.Errorf("a state BaselineState produced was refused: %v", err)
	}
}
