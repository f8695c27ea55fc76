package trainer

import (
	"math"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/features"
	"github.com/faultline/faultline/internal/scoring"
)

// Training windows over a history with outages must be the windows the daemon
// computes. artifacttest's zero network makes each residual its sensor's window mean,
// so the stream reports the window means it computed; the trainer's batch windows
// (after fillGaps, through extractRuns) must hold the same means at the same rows, bit
// for bit. The history: 20 rows at 1 s, a gap of 2 missing rows (filled), 18 rows, a
// gap of 9 missing rows (over MaxFill 3: the window restarts), 20 rows, and one
// missing cell.
func TestTrainingWindowsMatchStreamAcrossGaps(t *testing.T) {
	sensors := []string{"a", "b"}
	m := artifacttest.Anomaly(sensors, 5)
	var s Series
	add := func(from, to int) {
		for sec := from; sec < to; sec++ {
			s.T = append(s.T, float64(sec))
			s.Rows = append(s.Rows, []float64{math.Sin(float64(sec) / 3), float64(sec%7) - 3})
		}
	}
	add(0, 20)
	add(22, 40)
	add(49, 69)
	s.Rows[30][1] = math.NaN()
	d := Data{Columns: sensors, Series: []Series{s}}

	filled, n := fillGaps(d, m.Period, m.Spec.MaxFill)
	if n != 2 || len(filled.Series[0].T) != len(s.T)+2 || !math.IsNaN(filled.Series[0].Rows[20][0]) || filled.Series[0].T[21] != 21 {
		t.Fatalf("filled %d rows; series now %d rows", n, len(filled.Series[0].T))
	}
	if len(d.Series[0].T) != len(s.T) {
		t.Fatal("fillGaps changed its input")
	}
	fs := filled.Series[0]
	X, ends, runEnds, _, err := extractRuns(m.Spec, m.Period, fs.Rows, fs.T)
	if err != nil {
		t.Fatal(err)
	}
	meanIdx := featureIndexes(m.Spec, sensors, features.FeatMean)
	batch := map[float64][]float64{}
	for i, e := range ends {
		batch[fs.T[e]] = []float64{X[i][meanIdx[0]], X[i][meanIdx[1]]}
	}

	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sc.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stream := 0
	for i, row := range s.Rows {
		at := float64(s.T[i])
		r, ok, err := st.Push(t0.Add(time.Duration(at)*time.Second), row)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			if _, has := batch[at]; has {
				t.Errorf("t=%v: the trainer has a window the stream does not", at)
			}
			continue
		}
		stream++
		want, has := batch[at]
		if !has {
			t.Errorf("t=%v: the stream has a window the trainer does not", at)
			continue
		}
		if r.Residual[0] != want[0] || r.Residual[1] != want[1] {
			t.Errorf("t=%v: stream means %v, trainer %v", at, r.Residual, want)
		}
	}
	if st.C.Gaps != 1 || st.C.FilledRows != 2 {
		t.Fatalf("stream saw %d gaps and filled %d rows, want 1 and 2", st.C.Gaps, st.C.FilledRows)
	}
	// Windows end at the 2 filled rows too; the stream computes those without
	// returning them. A window of 5 rows ending at t = 49..52 would span the long gap.
	if stream == 0 || stream != len(ends)-countEndsAt(fs.T, ends, 20, 21) {
		t.Fatalf("stream returned %d windows, trainer has %d", stream, len(ends))
	}
	restart := 0
	for restart < len(fs.T) && fs.T[restart] != 49 {
		restart++
	}
	for i, e := range ends {
		if at := fs.T[e]; at >= 49 && at < 53 {
			t.Fatalf("a training window ends at t=%v, spanning the long gap", at)
		}
		if want := map[bool]int{true: restart, false: len(fs.T)}[e < restart]; runEnds[i] != want {
			t.Fatalf("window ending at t=%v: run ends at row %d, want %d", fs.T[e], runEnds[i], want)
		}
	}
	// A forecast target (the next 3 rows' mean) never reads across the long gap: the
	// stream's forecaster restarts there.
	target := anomalyTarget(3, nil, []int{0}, fs.Rows)
	if y := target(nil, restart-3, restart); y != nil {
		t.Fatalf("the window ending 3 rows before the gap got target %v from rows after it", y)
	}
	if y := target(nil, restart-4, restart); y == nil {
		t.Fatal("the window ending 4 rows before the gap lost its target")
	}
}

func countEndsAt(t []float64, ends []int, at ...float64) int {
	n := 0
	for _, e := range ends {
		for _, a := range at {
			if t[e] == a {
				n++
			}
		}
	}
	return n
}
