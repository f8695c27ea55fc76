package trainer

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/scoring"
)

// The whole-history EWMA inputs (after the age input) must be the same numbers in
// training (batch windows) and in live scoring: feeding the batch vector of each
// window to the networks gives exactly the RUL the stream reports at that row.
func TestHistoryEWMABatchEqualsStream(t *testing.T) {
	d := runToFailure(12, 7)
	o := Options{Task: artifact.TaskRUL, Seed: 3, Ensemble: 2, Epochs: 5, Window: 8, AgeFeature: true, HistoryEWMA: []float64{0.2, 0.05}}
	m, _, err := Fit(context.Background(), d, o)
	if err != nil {
		t.Fatal(err)
	}
	if want := m.Spec.NumFeatures() + 1 + 2*len(m.Spec.Sensors); m.Input.Dim() != want || len(m.HistoryEWMA) != 2 {
		t.Fatalf("input dim %d, want %d (history %v)", m.Input.Dim(), want, m.HistoryEWMA)
	}
	nets, err := m.Networks()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	p := &prepared{sIdx: []int{0, 1}, sensors: m.Spec.Sensors}
	s := d.Series[5]
	o.defaults()
	mat, err := rulWindows(m.Spec, m.Period, o, p.rowsFor(s), s.T, nil, &Report{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := sc.NewStream()
	k := 0
	for i, row := range s.Rows {
		r, ok, err := st.Push(TimeOf(s.T[i]), row)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		x := mat.X[k]
		if got := x[m.Spec.NumFeatures()]; got != float64(i+1) {
			t.Fatalf("row %d: batch age %v, want %d", i, got, i+1)
		}
		if want := math.Min(125, s.T[len(s.T)-1]-s.T[i]); mat.Y[k][0] != want {
			t.Fatalf("row %d: target %v, want %v", i, mat.Y[k][0], want)
		}
		want := batchRUL(m, nets, x)
		if r.RUL != want {
			t.Fatalf("row %d: stream RUL %v, batch %v", i, r.RUL, want)
		}
		k++
	}
	if k != len(mat.X) {
		t.Fatalf("stream scored %d windows, batch made %d", k, len(mat.X))
	}
	// Reset forgets the history: a reset stream scores like a fresh one.
	st.Reset()
	st2, _ := sc.NewStream()
	for i, row := range s.Rows[:20] {
		r1, ok1, _ := st.Push(TimeOf(s.T[i]), row)
		a := 0.0
		if ok1 {
			a = r1.RUL
		}
		r2, ok2, _ := st2.Push(TimeOf(s.T[i]), row)
		if ok1 != ok2 || (ok2 && a != r2.RUL) {
			t.Fatalf("row %d: after Reset %v/%v, fresh %v/%v", i, a, ok1, r2, ok2)
		}
	}
}

func TestHistoryEWMARefusedForAnomalyModels(t *testing.T) {
	m, _, err := Fit(context.Background(), runToFailure(3, 1), Options{Window: 8, Epochs: 2})
	if err != nil {
		t.Fatal(err)
	}
	m.HistoryEWMA = []float64{0.1}
	if err := m.Validate(); err == nil {
		t.Fatal("history_ewma accepted on an anomaly model")
	}
}

// A model with members predicts the mean of its own RUL and that of each member;
// with short-history padding (artifact.Model.PadShort) every member scores from the
// first row, the longer window included.
func TestMembersAveraged(t *testing.T) {
	d := runToFailure(10, 9)
	m, _, err := Fit(context.Background(), d, Options{Task: artifact.TaskRUL, Seed: 1, Ensemble: 1, Epochs: 3, Window: 6, MemberWindows: []int{12}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Members) != 1 || m.Members[0].Spec.Window != 12 {
		t.Fatalf("members %d", len(m.Members))
	}
	solo := *m
	solo.Members = nil
	stream := func(mm *artifact.Model) (*scoring.Stream, error) {
		sc, err := scoring.New(mm)
		if err != nil {
			return nil, err
		}
		return sc.NewStream()
	}
	all, err := stream(m)
	if err != nil {
		t.Fatal(err)
	}
	own, _ := stream(&solo)
	mem, _ := stream(m.Members[0])
	s := d.Series[2]
	for i, row := range s.Rows {
		ts := TimeOf(s.T[i])
		ra, oka, err := all.Push(ts, row)
		if err != nil {
			t.Fatal(err)
		}
		ro, oko, _ := own.Push(ts, row)
		rm, okm, _ := mem.Push(ts, row)
		if oka != oko {
			t.Fatalf("row %d: combined ready %v, own %v", i, oka, oko)
		}
		if !oka {
			continue
		}
		want := ro.RUL
		if okm {
			want = (ro.RUL + rm.RUL) / 2
		}
		if !okm || ra.RUL != want {
			t.Fatalf("row %d: combined %v, want %v (member ready %v)", i, ra.RUL, want, okm)
		}
	}
	// A member on other sensors is refused.
	m.Members[0].Spec.Sensors = []string{"noise", "wear"}
	if err := m.Validate(); err == nil {
		t.Fatal("member with other sensors accepted")
	}
}

// The history inputs and the asymmetric loss are rul defaults only (an anomaly
// model's options resolve without them), and the age input is opt-in for both.
func TestHistoryDefaultIsRULOnly(t *testing.T) {
	if r := (Options{Task: artifact.TaskRUL}).Resolved(); !slices.Equal(r.HistoryEWMA, DefaultRULHistory()) || r.Loss != DefaultRULLoss || r.AgeFeature {
		t.Fatalf("rul resolved to history %v, loss %q, age %v", r.HistoryEWMA, r.Loss, r.AgeFeature)
	}
	if r := (Options{Task: artifact.TaskRUL, AgeFeature: true, HistoryEWMA: []float64{}}).Resolved(); len(r.HistoryEWMA) != 0 || !r.AgeFeature {
		t.Fatalf("rul with age and no history resolved to history %v, age %v", r.HistoryEWMA, r.AgeFeature)
	}
	for _, task := range []string{"", artifact.TaskAnomaly} {
		r := Options{Task: task}.Resolved()
		if r.HistoryEWMA != nil || r.Loss != "" || r.AgeFeature {
			t.Fatalf("task %q resolved to history %v, loss %q, age %v", task, r.HistoryEWMA, r.Loss, r.AgeFeature)
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("task %q: resolved defaults refused: %v", task, err)
		}
	}
}

// A daemon restart with the stream's long memory kept (scoring.HistoryState, through
// JSON as the daemon writes it) scores like the stream that never stopped once the
// window has refilled; without it the RUL differs. A state that does not fit is
// refused and leaves the stream as it was.
func TestHistoryStateCarriesARestart(t *testing.T) {
	d := runToFailure(12, 7)
	o := Options{Task: artifact.TaskRUL, Seed: 3, Ensemble: 2, Epochs: 5, Window: 8, AgeFeature: true, HistoryEWMA: []float64{0.2, 0.05}}
	m, _, err := Fit(context.Background(), d, o)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	s := d.Series[5]
	half := len(s.Rows) / 2
	whole, before := mustStream(t, sc), mustStream(t, sc)
	want := make([]float64, len(s.Rows))
	for i, row := range s.Rows {
		r, ok, err := whole.Push(TimeOf(s.T[i]), row)
		if err != nil || !ok {
			t.Fatalf("row %d: %v %v", i, ok, err)
		}
		want[i] = r.RUL
		if i < half {
			if _, _, err := before.Push(TimeOf(s.T[i]), row); err != nil {
				t.Fatal(err)
			}
		}
	}
	saved, ok := before.HistoryState()
	if !ok || saved.Rows != int64(half) || len(saved.Means) != 2*len(m.Spec.Sensors) {
		t.Fatalf("state %+v, %v", saved, ok)
	}
	b, err := json.Marshal(saved)
	if err != nil {
		t.Fatal(err)
	}
	var back scoring.HistoryState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	after, fresh := mustStream(t, sc), mustStream(t, sc)
	if err := after.RestoreHistory(back); err != nil {
		t.Fatal(err)
	}
	differs := 0
	for i := half; i < len(s.Rows); i++ {
		r, _, err := after.Push(TimeOf(s.T[i]), s.Rows[i])
		if err != nil {
			t.Fatal(err)
		}
		f, _, _ := fresh.Push(TimeOf(s.T[i]), s.Rows[i])
		if i < half+m.Spec.Window-1 {
			continue // the window refills (padded meanwhile)
		}
		if r.RUL != want[i] {
			t.Fatalf("row %d: restored stream RUL %v, uninterrupted %v", i, r.RUL, want[i])
		}
		if f.RUL != want[i] {
			differs++
		}
	}
	if differs == 0 {
		t.Fatal("a fresh stream scored the second half as the uninterrupted one: the test shows nothing")
	}

	bad := []scoring.HistoryState{
		{Means: back.Means[1:], Seen: back.Seen, Rows: 3},
		{Means: append([]float64{math.NaN()}, back.Means[1:]...), Seen: back.Seen, Rows: 3},
		{Means: back.Means, Seen: back.Seen, Rows: -1},
		{Means: back.Means, Seen: back.Seen, Rows: 3, Members: []scoring.HistoryState{{}}},
	}
	for i, st := range bad {
		s2 := mustStream(t, sc)
		if err := s2.RestoreHistory(st); err == nil {
			t.Errorf("bad state %d accepted", i)
		}
		if _, ok := s2.HistoryState(); ok {
			t.Errorf("bad state %d changed the stream", i)
		}
	}
	if err := after.RestoreHistory(back); err == nil {
		t.Error("restored into a stream that has scored rows")
	}
}

func mustStream(t *testing.T, sc *scoring.Scorer) *scoring.Stream {
	t.Helper()
	st, err := sc.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A run-to-failure history with timestamps (ten-minute samples) gets a cap and a
// horizon in seconds from its assets' lives, not 125 and 30 seconds, under which every
// target was the cap and the model learned nothing; its predictions follow the life
// left.
func TestRULTimestampedHistory(t *testing.T) {
	d := runToFailure(12, 7)
	d.Timestamps = true
	var lives []float64
	for i := range d.Series {
		s := &d.Series[i]
		ts := make([]float64, len(s.T))
		for k, c := range s.T {
			ts[k] = 1.7e9 + 600*c
		}
		s.T = ts
		lives = append(lives, ts[len(ts)-1]-ts[0])
	}
	slices.Sort(lives)
	m, _, err := Fit(context.Background(), d, Options{Task: artifact.TaskRUL, Seed: 3, Window: 8, Epochs: 30})
	if err != nil {
		t.Fatal(err)
	}
	if want := 5.0 / 8 * lives[len(lives)/2]; math.Abs(m.RULCap-want) > 1e-6 || math.Abs(m.Alert.Levels.Warn-0.24*want) > 1e-6 {
		t.Fatalf("cap %v s, warn %v s; want %v and %v", m.RULCap, m.Alert.Levels.Warn, want, 0.24*want)
	}
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	s := d.Series[len(d.Series)-1] // a validation asset
	st, _ := sc.NewStream()
	var early, late float64
	for i, row := range s.Rows {
		r, ok, err := st.Push(TimeOf(s.T[i]), row)
		if err != nil || !ok {
			t.Fatalf("row %d: %v %v", i, ok, err)
		}
		switch i {
		case len(s.Rows) / 4:
			early = r.RUL
		case len(s.Rows) - 1:
			late = r.RUL
		}
	}
	if !(early > 2*late && early > 0.5*m.RULCap) {
		t.Fatalf("RUL %v s a quarter into life, %v s at the end (cap %v s): want it to fall with the life left", early, late, m.RULCap)
	}
}
