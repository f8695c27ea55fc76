package trainer

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/scoring"
)

// slowLag is a large motor's winding temperature: it follows its load through a
// first-order lag of 40 rows (a minute each), the load stepping every 150 rows, under light noise,
// with the instant current beside it. An hour's window of the load cannot say where
// the temperature started from; the load's means over its history can. A gap of two
// hours at row gapAt (>= n: none) is an outage.
func slowLag(n, gapAt int, seed uint64) Series {
	rng := rand.New(rand.NewPCG(seed, 25))
	s := Series{Asset: "m1"}
	a := 1 - math.Exp(-1.0/40)
	load, temp, t := 0.5, 70.0, 1_700_000_000.0
	for i := 0; i < n; i++ {
		if i%150 == 0 {
			load = 0.2 + 0.8*rng.Float64()
		}
		temp += a * (30 + 60*load*load - temp)
		if i == gapAt {
			t += 7200
		}
		t += 60
		s.T = append(s.T, t)
		s.Rows = append(s.Rows, []float64{load + 0.01*rng.NormFloat64(), 10*load + 0.2*rng.NormFloat64(), temp + 0.05*rng.NormFloat64()})
	}
	return s
}

// With --history and context columns, a leave-one-out network may see the context
// sensors' means over the stream's history, and keeps them where they shrink its
// held-out residual: the lagging temperature's healthy residual scale falls to at
// most 0.7 of what the window features alone leave (measured 0.39 and 0.30 with
// training seeds 2 and 5); the instant current has nothing to remember. The model
// is format 8 and reads back with the same inputs. The default has none.
func TestHistoryInputsExplainALongLag(t *testing.T) {
	d := Data{Columns: []string{"load", "current", "temp"}, Series: []Series{slowLag(3000, math.MaxInt, 1)}}
	o := Options{Seed: 2, Epochs: 20, Window: 60, Context: []string{"load"}}
	without, _, err := Fit(context.Background(), d, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(without.HistoryEWMA) != 0 || without.TargetHistory != nil || without.FormatVersion() >= 8 {
		t.Fatalf("defaults: history %v %v, format %d; want none", without.HistoryEWMA, without.TargetHistory, without.FormatVersion())
	}
	o.HistoryEWMA = AnomalyHistoryExample
	with, _, err := Fit(context.Background(), d, o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(with.HistoryEWMA, AnomalyHistoryExample) {
		t.Fatalf("history %v, want %v", with.HistoryEWMA, AnomalyHistoryExample)
	}
	t.Logf("temperature residual scale %.3g with the history, %.3g without; current %.3g / %.3g",
		with.ResidualScale[1], without.ResidualScale[1], with.ResidualScale[0], without.ResidualScale[0])
	if with.TargetHistory == nil || !with.TargetHistory[1] {
		t.Errorf("target history %v (current, temperature), want the temperature's network to see the means", with.TargetHistory)
	}
	if r := with.ResidualScale[1] / without.ResidualScale[1]; r > 0.7 {
		t.Errorf("temperature residual scale ratio %.2f, want <= 0.7", r)
	}
	var buf bytes.Buffer
	if err := with.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("FAULTLINE-MODEL 8 ")) {
		t.Fatalf("header %q, want format 8", bytes.SplitN(buf.Bytes(), []byte("\n"), 2)[0])
	}
	back, err := artifact.Decode(&buf)
	if err != nil || !slices.Equal(back.HistoryEWMA, with.HistoryEWMA) {
		t.Fatalf("decoded history %v (%v)", back.HistoryEWMA, err)
	}
	// Refused where no network could use them: without context, each target's
	// network would see the other targets' means, and a monitor sees none.
	bad := *with
	bad.Context = nil
	if err := bad.Validate(); err == nil {
		t.Fatal("history inputs accepted on an anomaly model without context columns")
	}
	for _, oo := range []Options{{HistoryEWMA: []float64{0.1}}, {HistoryEWMA: []float64{0.1}, Context: []string{"load"}, Detector: DetectorMonitor}} {
		if err := oo.Validate(); err == nil {
			t.Errorf("options %+v accepted", oo)
		}
	}
}

// After an outage the stream's history inputs restart with its window, as the
// trainer's do at a gap (runHistory): from its first window on, a stream that met
// a two-hour outage scores exactly as a fresh stream started after it, residual for
// residual.
func TestAnomalyHistoryRestartsAtOutage(t *testing.T) {
	d := Data{Columns: []string{"load", "current", "temp"}, Series: []Series{slowLag(3000, 1500, 1)}}
	m, _, err := Fit(context.Background(), d, Options{Seed: 2, Epochs: 5, Window: 60, Context: []string{"load"}, HistoryEWMA: AnomalyHistoryExample})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.HistoryEWMA) == 0 {
		t.Fatal("no history inputs")
	}
	live := slowLag(1200, 600, 9)
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	through, _ := sc.NewStream()
	fresh, _ := sc.NewStream()
	compared := 0
	for i, row := range live.Rows {
		at := TimeOf(live.T[i])
		a, okA, err := through.Push(at, row)
		if err != nil {
			t.Fatal(err)
		}
		if i < 600 {
			continue
		}
		b, okB, err := fresh.Push(at, row)
		if err != nil {
			t.Fatal(err)
		}
		if okA != okB {
			t.Fatalf("row %d: scored %v after the outage, %v fresh", i, okA, okB)
		}
		if okA {
			if !slices.Equal(a.Residual, b.Residual) {
				t.Fatalf("row %d: residuals %v after the outage, %v fresh", i, a.Residual, b.Residual)
			}
			compared++
		}
	}
	if compared < 500 {
		t.Fatalf("%d windows compared", compared)
	}
	// A network that sees the means is not heard for two time constants of the
	// slowest one after the outage (121 rows with 0.0165): a machine restarted cold
	// at full load is not yet as hot as means that start from its first row say.
	// Which networks see them is the trainer's choice; the rule is the scorer's.
	m.TargetHistory = []bool{false, true}
	if sc, err = scoring.New(m); err != nil {
		t.Fatal(err)
	}
	st, _ := sc.NewStream()
	warm := int(math.Ceil(-2 / math.Log1p(-slices.Min(m.HistoryEWMA))))
	if warm != 121 {
		t.Fatalf("warm-up %d rows, want 121", warm)
	}
	var heardCold, heardWarm, currentCold int
	firstHeard := -1
	for i, row := range live.Rows {
		r, ok, err := st.Push(TimeOf(live.T[i]), row)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || i < 600 {
			continue
		}
		switch since := i - 600 + 1; {
		case since < warm:
			if r.Residual[1] != 0 {
				heardCold++
			}
			if r.Residual[0] != 0 {
				currentCold++
			}
		default:
			if r.Residual[1] != 0 {
				heardWarm++
				if firstHeard < 0 {
					firstHeard = since
				}
			}
		}
	}
	if heardCold != 0 || currentCold == 0 || heardWarm == 0 || firstHeard != warm {
		t.Fatalf("temperature heard in %d windows before the means warmed up and %d after (first at row %d after the outage, want %d); the current in %d before", heardCold, heardWarm, firstHeard, warm, currentCold)
	}
	// The daemon keeps no history state for an anomaly model: its means restart with
	// the stream, as at an outage.
	if _, ok := st.HistoryState(); ok {
		t.Fatal("an anomaly model's stream offers a history state to keep")
	}
	if nst, _ := sc.NewStream(); nst.RestoreHistory(scoring.HistoryState{Rows: 1}) == nil {
		t.Fatal("a history state restored into an anomaly model's stream")
	}
	// The trainer's inputs restart at the gap too.
	h, err := runHistory(m.HistoryEWMA, live.Rows, live.T, m.Period, m.Spec.MaxFill)
	if err != nil {
		t.Fatal(err)
	}
	if h[600][0] != live.Rows[600][0] || h[599][0] == live.Rows[599][0] {
		t.Fatalf("history at the gap %v, %v; want restarted at row 600 only", h[599][:2], h[600][:2])
	}
}
