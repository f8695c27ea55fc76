package trainer

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/artifact"
)

// On scores with a known law, Exp(1), the level for a stated crossing rate lands where
// the law puts it, and fresh samples cross it at a rate within a factor of two of
// the stated one (on the safe side: the finite-sample padding may only lower it).
func TestWarnLevelMeetsStatedRateOnKnownLaw(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	held := make([]float64, 500) // a short history's held-out part
	for i := range held {
		held[i] = rng.ExpFloat64()
	}
	const period = 60.0 // a window a minute: 10080 a week
	for _, perWeek := range []float64{0.25, 1, 10} {
		alpha := perWeek * period / (7 * 24 * 3600)
		lvl := warnLevel(held, perWeek, period)
		if want := -math.Log(alpha); math.Abs(lvl-want) > 0.35*want {
			t.Errorf("%g a week: level %.2f, the law's %.2f", perWeek, lvl, want)
		}
		const n = 4_000_000
		over := 0
		for range n {
			if rng.ExpFloat64() > lvl {
				over++
			}
		}
		if rate := float64(over) / n; rate > 2*alpha || rate < alpha/4 {
			t.Errorf("%g a week: fresh crossing rate %.2e, stated %.2e", perWeek, rate, alpha)
		}
	}
}

// The monitor of data with two latent factors in five features keeps those two, and
// tells a window that breaks the features' relation (SPE) from one that only moves
// along it (T2), which stays calm while the move is within the healthy spread.
func TestMonitorSeparatesSubspaceAndResidual(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	load := [][]float64{{1, 1, 0, 1, 0}, {0, 1, 1, 0, -1}}
	row := func(a, b, noise float64) []float64 {
		x := make([]float64, 5)
		for j := range x {
			x[j] = a*load[0][j] + b*load[1][j] + noise*rng.NormFloat64()
		}
		return x
	}
	var xs [][]float64
	for range 2000 {
		xs = append(xs, row(rng.NormFloat64(), rng.NormFloat64(), 0.1))
	}
	mo, err := fitMonitor(xs)
	if err != nil {
		t.Fatal(err)
	}
	if len(mo.Components) != 2 {
		t.Fatalf("%d components, want the 2 latent factors (variances %v)", len(mo.Components), mo.Variance)
	}
	stats := func(z []float64) (t2, spe float64) {
		for j, p := range mo.Components {
			var s float64
			for i := range p {
				s += p[i] * z[i]
			}
			t2 += s * s / mo.Variance[j]
			for i := range p {
				z[i] -= s * p[i]
			}
		}
		for _, v := range z {
			spe += v * v
		}
		return t2, spe
	}
	t2, spe := stats(row(1, -1, 0)) // inside the subspace, one sigma out
	if t2 > 6 || spe > 0.01 {
		t.Errorf("in-subspace window: t2 %.2f spe %.3g, want t2 about 2 and spe near 0", t2, spe)
	}
	broken := row(0, 0, 0)
	broken[2] = 1 // feature 2 moves alone: the relation breaks
	if _, spe := stats(broken); spe < 0.3 {
		t.Errorf("broken relation: spe %.3f, want it far above the noise (0.01 a feature)", spe)
	}
}

// A 500-row history gets a window that leaves calibration enough windows, and one
// too short to learn from is refused with the number of rows needed.
func TestWindowSizedForShortHistories(t *testing.T) {
	series := func(n int) Data {
		rng := rand.New(rand.NewPCG(5, 6))
		s := Series{Asset: "m"}
		for i := range n {
			a := rng.NormFloat64()
			s.T = append(s.T, float64(60*i))
			s.Rows = append(s.Rows, []float64{a, a + 0.1*rng.NormFloat64(), rng.NormFloat64()})
		}
		return Data{Columns: []string{"a", "b", "c"}, Series: []Series{s}}
	}
	if w := anomalyWindowFor(60, series(500), 0.25); w != 31 {
		t.Errorf("500 rows: window %d, want 31", w)
	}
	m, rep, err := Fit(context.Background(), series(300), Options{})
	if err != nil {
		t.Fatalf("300 rows with defaults: %v", err)
	}
	if m.Spec.Window > 18 || rep.Windows["val"] < minValWindows {
		t.Errorf("300 rows: window %d, %d validation windows", m.Spec.Window, rep.Windows["val"])
	}
	_, _, err = Fit(context.Background(), series(12), Options{})
	if !errors.Is(err, ErrData) || !strings.Contains(err.Error(), "give at least") {
		t.Fatalf("12 rows: err %v, want ErrData saying how many rows are needed", err)
	}
}

// A clock that steps back loses the rows until time passes the last one kept, as the
// scorer drops late samples; duplicates keep their first row.
func TestDropLateAsTheScorerDoes(t *testing.T) {
	s := Series{T: []float64{0, 60, 120, 180, 60, 120, 180, 240, 240, 300}}
	for range s.T {
		s.Rows = append(s.Rows, []float64{1})
	}
	d, n := dropLate(Data{Columns: []string{"x"}, Series: []Series{s}})
	if got := d.Series[0].T; n != 4 || len(got) != 6 || got[4] != 240 || got[5] != 300 {
		t.Fatalf("dropped %d, kept %v; want 4 dropped and 0..240, 300", n, got)
	}
}

// Columns that are ids, counters or labels are no sensors.
func TestColumnScreening(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	s := Series{Asset: "m"}
	for i := range 100 {
		s.T = append(s.T, float64(i))
		s.Rows = append(s.Rows, []float64{float64(1000 + i), float64(i % 2), rng.NormFloat64()})
	}
	for i := range s.Rows {
		bit := 0.0
		if i == 50 {
			bit = 1 // a status bit that flipped once
		}
		s.Rows[i] = append(s.Rows[i], bit)
	}
	for range 100 { // 200 rows: the bit is 99.5 % zero
		i := len(s.T)
		s.T = append(s.T, float64(i))
		s.Rows = append(s.Rows, []float64{float64(1000 + i), float64(i % 2), rng.NormFloat64(), 0})
	}
	d := Data{Columns: []string{"sample_id", "Fault", "pressure", "door_open"}, Series: []Series{s}}
	for k, want := range []string{"id, counter or time", "label", "", "near-constant"} {
		if got := columnProblem(d, k, artifact.TaskAnomaly); want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("column %s: %q, want %q", d.Columns[k], got, want)
		}
	}
}

// A tail rate is written only where the baseline can warm up for it: the recent
// weight levels off at 1 / (1 - 2^(-every/halfLife)) windows, and half-hourly windows
// with a one-day half-life hold 69.8, under scoring.TailWarmup's 100. A rate there
// would only make the file format 6 without changing a score.
func TestBaselineTailRateOnlyWhereItCanWarmUp(t *testing.T) {
	scores := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		halfLife time.Duration
		every    float64
		want     bool
	}{
		{168 * time.Hour, 60, true},
		{24 * time.Hour, 60, true},
		{24 * time.Hour, 1800, false},
		{168 * time.Hour, 3 * 3600, false},
	} {
		b := baselineFor(scores, tc.halfLife, tc.every, 0.25)
		if got := b.TailRate > 0; got != tc.want {
			t.Errorf("half-life %v, a window every %v s: tail rate %v, want one: %v", tc.halfLife, tc.every, b.TailRate, tc.want)
		}
		if b := baselineFor(scores, tc.halfLife, tc.every, 0); b.TailRate != 0 {
			t.Errorf("no stated rate: tail rate %v, want 0", b.TailRate)
		}
	}
}
