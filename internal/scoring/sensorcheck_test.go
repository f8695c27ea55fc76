package scoring

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
)

func checkOf(minRange, maxJump float64) *artifact.SensorCheck {
	return &artifact.SensorCheck{Lo: []float64{0, 0}, Hi: []float64{100, 100}, MinRange: []float64{minRange, minRange}, MaxJump: []float64{maxJump, maxJump}, MaxSpike: []float64{maxJump, maxJump},
		MaxMissing: []float64{0, 0}, StuckRatio: DefaultStuckRatio, JumpFactor: DefaultJumpFactor}
}

// feed pushes rows of (sensor 0, sensor 1) and returns the issue after each.
func feed(c *SensorChecker, sc *artifact.SensorCheck, rows [][2]float64) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		c.Push(r[:])
		_, out[i] = c.Check(sc)
	}
	return out
}

func wiggle(i int) float64 { return 10 + 0.5*math.Sin(float64(i)) }

// One spike is reported for exactly as long as its peak is in the window, also when
// missing values follow it (a sensor reporting less often than the row rate).
func TestSpikeCountsWhileItsPeakIsInTheWindow(t *testing.T) {
	const w = 10 // the two missing values are a fifth of it: not yet silent
	c := NewSensorChecker(2, w)
	sc := checkOf(0.1, 1)
	var rows [][2]float64
	for i := range 20 {
		rows = append(rows, [2]float64{wiggle(i), wiggle(i)})
	}
	rows[10][0] = 30 // the peak
	rows[12][0] = math.NaN()
	rows[13][0] = math.NaN()
	got := feed(c, sc, rows)
	for i, issue := range got {
		want := ""
		if i >= 11 && i < 10+w { // seen when the value returns, gone when row 10 leaves
			want = IssueSpiking
		}
		if issue != want {
			t.Errorf("row %d: issue %q, want %q (all: %q)", i, issue, want, got)
		}
	}
}

// An on/off sensor's starts and stops are steps, not spikes, however large, while a
// spike smaller than them is caught: the limit is the largest healthy excursion.
func TestSpikeLimitFromExcursionsNotSteps(t *testing.T) {
	var rows [][]float64
	for i := range 400 {
		v := wiggle(i)
		if (i/50)%2 == 1 {
			v += 50 // on for 50 rows, off for 50
		}
		rows = append(rows, []float64{v, wiggle(i)})
	}
	var lim SensorLimits
	Learn(rows, 12, &lim)
	sc := lim.Finish()
	if lim.MaxJump[0] < 49 || spikeLimit(sc, 0) > 15 {
		t.Fatalf("max step %v, spike limit %v: want the steps large and the limit small", lim.MaxJump[0], spikeLimit(sc, 0))
	}
	c := NewSensorChecker(2, 12)
	got := ""
	for i := range 20 {
		v := wiggle(i)
		if i == 10 {
			v += 20 // a spike well under the on/off step
		}
		c.Push([]float64{v, wiggle(i)})
		if _, issue := c.Check(sc); issue != "" {
			got = issue
		}
	}
	if got != IssueSpiking {
		t.Fatalf("a spike of 20 on a sensor with steps of 50: issue %q", got)
	}
}

// A value that jumps and stays (a step) is no spike; a flat run is stuck; half the
// window missing while the other sensor reports is silent; Reset forgets all.
func TestSensorRules(t *testing.T) {
	const w = 12
	sc := checkOf(0.1, 1)
	t.Run("step is no spike", func(t *testing.T) {
		c := NewSensorChecker(2, w)
		var rows [][2]float64
		for i := range 30 {
			v := wiggle(i)
			if i >= 15 {
				v += 20
			}
			rows = append(rows, [2]float64{v, wiggle(i)})
		}
		for i, issue := range feed(c, sc, rows) {
			if issue != "" {
				t.Fatalf("row %d: %q for a step", i, issue)
			}
		}
	})
	t.Run("stuck", func(t *testing.T) {
		c := NewSensorChecker(2, w)
		var rows [][2]float64
		for i := range 30 {
			v := wiggle(i)
			if i >= 15 {
				v = 10.25
			}
			rows = append(rows, [2]float64{wiggle(i), v})
		}
		got := feed(c, sc, rows)
		// stuckRows is 5: the span is 0 from row 19 on.
		if got[18] != "" || got[19] != IssueStuck || got[29] != IssueStuck {
			t.Fatalf("issues %q", got)
		}
		k, _ := c.Check(sc)
		if k != 1 {
			t.Fatalf("stuck sensor %d, want 1", k)
		}
		c.Reset()
		if k, issue := c.Check(sc); k != -1 || issue != "" {
			t.Fatalf("after reset: %d %q", k, issue)
		}
		// Flat at the healthy floor is a stopped machine, not a stuck sensor.
		floor := NewSensorChecker(2, w)
		for i := range 30 {
			floor.Push([]float64{wiggle(i), 0})
			if _, issue := floor.Check(sc); issue != "" {
				t.Fatalf("row %d: %q for a sensor at its healthy floor", i, issue)
			}
		}
	})
	t.Run("silent", func(t *testing.T) {
		c := NewSensorChecker(2, w)
		var rows [][2]float64
		for i := range 30 {
			v := wiggle(i)
			if i >= 15 {
				v = math.NaN()
			}
			rows = append(rows, [2]float64{v, wiggle(i)})
		}
		got := feed(c, sc, rows)
		if got[16] != "" || got[17] != IssueSilent {
			t.Fatalf("issues %q: want silent once more than a fifth of the window (3 of 12 rows) is missing", got)
		}
		// A sensor that missed 15 % of a window when healthy is silent above twice
		// that (4 of 12 rows, more than 3.6); one that missed a quarter is not judged.
		for _, tc := range []struct {
			healthy float64
			from    int
		}{{0.15, 18}, {0.25, -1}} {
			lossy := *sc
			lossy.MaxMissing = []float64{tc.healthy, 0}
			got := feed(NewSensorChecker(2, w), &lossy, rows)
			for i, issue := range got {
				if want := i >= tc.from && tc.from >= 0; (issue == IssueSilent) != want {
					t.Fatalf("healthy missing share %.2f: issues %q, want silent from row %d", tc.healthy, got, tc.from)
				}
			}
		}
		both := NewSensorChecker(2, w)
		for i := range 30 {
			both.Push([]float64{math.NaN(), math.NaN()})
			if _, issue := both.Check(sc); issue != "" {
				t.Fatalf("row %d: every sensor missing is an outage, not a sensor fault: %q", i, issue)
			}
		}
	})
}

// Learn measures under Check's own conditions: a sensor that often has a value missing
// keeps its stuck rule (no span of one value). Outages are split off by the caller
// (trainer.sensorCheckOf), as the stream restarts its checker there.
func TestLearnMatchesCheck(t *testing.T) {
	var rows [][]float64
	for i := range 200 {
		a, b := wiggle(i), wiggle(i+1)
		if i%7 == 0 {
			a = math.NaN()
		}
		rows = append(rows, []float64{a, b})
	}
	var lim SensorLimits
	Learn(rows, 12, &lim)
	if !(lim.MinRange[0] > 0.1) || lim.MaxMissing[1] != 0 || lim.MaxMissing[0] > 2.0/12 {
		t.Fatalf("limits %+v", lim)
	}
	if j := lim.MaxJump[1]; j < 0.4 || j > 1 {
		t.Fatalf("max jump %v of a sine of amplitude 0.5 sampled at 1 rad", j)
	}
	// sin sampled at 1 rad turns at every peak: its excursions are about 0.5 x
	// (1 - cos 1) x 2 at most, below its largest step.
	if e := lim.MaxSpike[1]; !(e > 0) || e >= lim.MaxJump[1] {
		t.Fatalf("max excursion %v, max step %v", e, lim.MaxJump[1])
	}
}

// The monitor's statistics are the textbook ones: with the components along the first
// two axes, T2 sums those coordinates' squares over their variances and SPE the rest.
func TestMonitorStatistics(t *testing.T) {
	m := &artifact.Model{Targets: []string{"a", "b", "c"}, Modes: artifact.Modes{Monitor: &artifact.Monitor{
		Components: [][]float64{{1, 0, 0}, {0, 1, 0}}, Variance: []float64{4, 1}, T2Level: 2, SPELevel: 0.5}}}
	m.Spec.Sensors, m.Spec.Features, m.Spec.Window = []string{"a", "b", "c"}, []string{"mean"}, 2
	ms := newMonitorStage(m)
	t2, spe := ms.stats([]float64{2, 1, 0.5})
	if math.Abs(t2-(4.0/4+1)/2) > 1e-12 || math.Abs(spe-0.25/0.5) > 1e-12 {
		t.Fatalf("t2 %v spe %v, want 1 and 0.5", t2, spe)
	}
	shares := make([]float64, 3)
	ms.blame(false, shares)
	if shares[2] != 1 {
		t.Fatalf("SPE blame %v: the residual is all sensor c's", shares)
	}
	ms.blame(true, shares)
	if math.Abs(shares[0]-0.5) > 1e-12 || math.Abs(shares[1]-0.5) > 1e-12 {
		t.Fatalf("T2 blame %v, want a and b half each", shares)
	}
}

// Two sensors leaving their healthy excursions on the same sample are the process
// turning impulsive, not two broken transmitters: IssueImpulsive, led by the one that
// went furthest past its spike limit, and while it is in the window a lone spike is
// taken for part of it. A spike whose companion stays within its healthy excursions
// is still the sensor's.
func TestSpikesTogetherAreTheProcess(t *testing.T) {
	const w = 10
	sc := checkOf(0.1, 1) // healthy excursions up to 1, spikes beyond 2
	rows := func(a, b float64) [][2]float64 {
		var out [][2]float64
		for i := range 30 {
			out = append(out, [2]float64{wiggle(i), wiggle(i)})
		}
		out[12][0] += a
		out[12][1] += b
		return out
	}
	for _, tc := range []struct {
		name   string
		a, b   float64
		want   string
		leader int
	}{
		{"both spike", 3, 8, IssueImpulsive, 1},
		{"spike and an unusual excursion", 5, 1.9, IssueImpulsive, 0},
		{"spike and a healthy wiggle", 5, 0.2, IssueSpiking, 0},
		{"one spike", 0, 5, IssueSpiking, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewSensorChecker(2, w)
			got := feed(c, sc, rows(tc.a, tc.b))
			for i, issue := range got {
				want := ""
				if i >= 13 && i < 12+w {
					want = tc.want
				}
				if issue != want {
					t.Fatalf("row %d: %q, want %q (all %q)", i, issue, want, got)
				}
			}
			c = NewSensorChecker(2, w)
			feed(c, sc, rows(tc.a, tc.b)[:15])
			if k, _ := c.Check(sc); k != tc.leader {
				t.Fatalf("blamed sensor %d, want %d", k, tc.leader)
			}
		})
	}
	// A lone spike on sensor 0 after an impulse, while the impulse is in the window,
	// is part of it.
	r := rows(3, 8)
	r[15][0] += 5
	got := feed(NewSensorChecker(2, w), sc, r)
	for i := 13; i < 22; i++ {
		if got[i] != IssueImpulsive {
			t.Fatalf("row %d: %q, want impulsive while the impulse is in the window (all %q)", i, got[i], got)
		}
	}
	if got[22] != IssueSpiking || got[24] != IssueSpiking {
		t.Fatalf("rows 22, 24: %q %q, want the lone spike once the impulse has left", got[22], got[24])
	}
	// A spike in a signal that is itself rough (two more reversals beyond its healthy
	// ones, under the spike limit) is the process, as cavitation's largest vibration
	// bursts are; one such reversal is not enough, and a model without reversal limits
	// (files before format 6) keeps the spike the sensor's.
	rough := *sc
	rough.MaxReversal = []float64{1, 1}
	for _, tc := range []struct {
		sc    *artifact.SensorCheck
		rough []int
		want  string
	}{{&rough, []int{15, 18}, IssueImpulsive}, {&rough, []int{15}, IssueSpiking}, {sc, []int{15, 18}, IssueSpiking}} {
		r := rows(5, 0)
		for _, i := range tc.rough {
			r[i][0] += 1.9
		}
		got := feed(NewSensorChecker(2, w), tc.sc, r)
		if got[21] != tc.want {
			t.Fatalf("spike and %d rough reversals (limits %v): row 21 %q, want %q (all %q)", len(tc.rough), tc.sc.MaxReversal, got[21], tc.want, got)
		}
	}
}

// Stream.Reset (and an outage's restart) forget the new sensor-check state: a
// checker reset after an impulse and a rough spell reports like a fresh one.
func TestCheckerResetEqualsFresh(t *testing.T) {
	sc := &artifact.SensorCheck{Lo: []float64{0, 0}, Hi: []float64{100, 100}, MinRange: []float64{0, 0},
		MaxJump: []float64{1, 1}, MaxSpike: []float64{0.5, 0.5}, MaxMissing: []float64{0, 0}, MaxReversal: []float64{0.6, 0.6},
		StuckRatio: 0.01, JumpFactor: 2}
	row := func(i int) []float64 {
		a, b := wiggle(i), wiggle(i+3)
		if i%37 == 20 {
			a, b = a+5, b+5 // together: impulse
		}
		if i%53 == 30 {
			a += 4 // alone
		}
		if i%7 == 0 {
			b += 0.9 // rough
		}
		return []float64{a, b}
	}
	used := NewSensorChecker(2, 20)
	for i := range 333 {
		used.Push(row(i))
		used.Check(sc)
	}
	used.Reset()
	fresh := NewSensorChecker(2, 20)
	for i := range 400 {
		used.Push(row(i))
		fresh.Push(row(i))
		ka, ia := used.Check(sc)
		kb, ib := fresh.Check(sc)
		if ka != kb || ia != ib {
			t.Fatalf("row %d: reset %d %q, fresh %d %q", i, ka, ia, kb, ib)
		}
		if used.nImpulse < 0 || used.nRough[0] < 0 || used.nRough[1] < 0 || used.nSpike[0] < 0 {
			t.Fatalf("row %d: negative count", i)
		}
	}
}

// The window's counts (spikes, rough reversals, impulses, missing values) always
// equal the marks in the rings, through random rows, spikes alone and together,
// missing values and resets.
func TestCheckerCountsMatchMarks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, w := range []int{5, 7, 20} {
		nt := 3
		sc := &artifact.SensorCheck{Lo: make([]float64, nt), Hi: []float64{100, 100, 100}, MinRange: make([]float64, nt),
			MaxJump: []float64{1, 1, 1}, MaxSpike: []float64{0.5, 0.5, 0.5}, MaxMissing: make([]float64, nt), MaxReversal: []float64{0.6, 0.6, 0.6},
			StuckRatio: 0.01, JumpFactor: 2}
		c := NewSensorChecker(nt, w)
		for i := range 20000 {
			row := make([]float64, nt)
			common := 0.0
			if rng.Float64() < 0.05 {
				common = 5
			}
			for k := range row {
				row[k] = 10 + 0.3*rng.NormFloat64() + common
				if rng.Float64() < 0.03 {
					row[k] += 6
				}
				if rng.Float64() < 0.1 {
					row[k] = math.NaN()
				}
			}
			c.Push(row)
			c.Check(sc)
			if rng.Float64() < 0.001 {
				c.Reset()
			}
			imp := 0
			for _, b := range c.impulse {
				if b {
					imp++
				}
			}
			if imp != c.nImpulse {
				t.Fatalf("w %d row %d: nImpulse %d, marks %d", w, i, c.nImpulse, imp)
			}
			for k := range nt {
				s, r, miss := 0, 0, 0
				for j := range w {
					if c.spikes[k][j] {
						s++
					}
					if c.rough[k][j] {
						r++
					}
					if (c.n >= w || j < c.pos) && math.IsNaN(c.ring[k][j]) {
						miss++
					}
				}
				if s != c.nSpike[k] || r != c.nRough[k] || miss != c.nMiss[k] {
					t.Fatalf("w %d row %d sensor %d: counts %d/%d/%d, marks %d/%d/%d", w, i, k, c.nSpike[k], c.nRough[k], c.nMiss[k], s, r, miss)
				}
			}
		}
	}
}

// "more than twice MaxMissing": at w = 360 with a healthy worst of 49 missing (as
// Learn writes it, 49/360), exactly 98 missing is twice, not more.
func TestSilentNotAtExactlyTwiceHealthyWorst(t *testing.T) {
	const w, m = 360, 49
	sc := &artifact.SensorCheck{Lo: []float64{0, 0}, Hi: []float64{100, 100}, MinRange: []float64{0, 0},
		MaxJump: []float64{1, 1}, MaxSpike: []float64{0.5, 0.5}, MaxMissing: []float64{float64(m) / float64(w), 0},
		StuckRatio: 0.01, JumpFactor: 2}
	c := NewSensorChecker(2, w)
	for i := range w {
		a := 10.0
		if i < 2*m {
			a = math.NaN()
		}
		c.Push([]float64{a, 10})
	}
	if k, issue := c.Check(sc); issue == IssueSilent {
		t.Errorf("%d of %d missing (exactly twice the healthy worst %d): sensor %d %s, want no issue", 2*m, w, m, k, issue)
	}
}

// Two sensors spike on row 12, but sensor 1's next sample is missing, so its excursion
// completes a row after sensor 0's: peaks are paired by row, in either order, and the
// spike already marked on sensor 0 becomes part of an impulse.
func TestSpikesTogetherWithAMissingNextSample(t *testing.T) {
	sc := checkOf(0.1, 1)
	for _, late := range []int{0, 1} {
		var rows [][2]float64
		for i := range 30 {
			rows = append(rows, [2]float64{wiggle(i), wiggle(i)})
		}
		rows[12][0] += 5
		rows[12][1] += 5
		rows[13][late] = math.NaN()
		got := feed(NewSensorChecker(2, 10), sc, rows)
		for i := 15; i < 22; i++ {
			if got[i] != IssueImpulsive {
				t.Fatalf("sensor %d late: row %d %q, want impulsive (all %q)", late, i, got[i], got)
			}
		}
		c := NewSensorChecker(2, 10)
		feed(c, sc, rows[:16])
		if c.nSpike[0] != 0 || c.nSpike[1] != 0 || c.nImpulse != 1 {
			t.Fatalf("sensor %d late: spikes %v, impulses %d; want the spikes turned into one impulse", late, c.nSpike, c.nImpulse)
		}
	}
}
