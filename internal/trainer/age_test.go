package trainer

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/scoring"
)

// agedFleet is runToFailure with the time column named cycle, each asset first seen
// mid-life: its cycles start at first (so the row count is not the age).
func agedFleet(n, first int, seed uint64) Data {
	d := runToFailure(n, seed)
	d.TimeColumn = "cycle"
	for i := range d.Series {
		for j := range d.Series[i].T {
			d.Series[i].T[j] += float64(first - 1)
		}
	}
	return d
}

func fitAged(t *testing.T, d Data, o Options) *artifact.Model {
	t.Helper()
	o.Task, o.Seed, o.Ensemble, o.Epochs, o.Window = artifact.TaskRUL, 2, 2, 5, 8
	if o.AgeColumn == "" {
		o.AgeColumn = "cycle"
	}
	m, _, err := Fit(context.Background(), d, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The age read from the time column is the same number in training (batch windows,
// rulWindows) and in live scoring: the network fed the batch vector of each window
// gives exactly the RUL the stream reports at that row, and the age input is the
// row's cycle, not the rows counted, for a stream that starts mid-life.
func TestAgeColumnBatchEqualsStream(t *testing.T) {
	d := agedFleet(12, 200, 1)
	m := fitAged(t, d, Options{})
	if m.AgeColumn != "cycle" || m.AgeFeature || m.Input.Dim() != m.NumInputs() || m.FormatVersion() != 5 {
		t.Fatalf("age column %q, row count %v, input dim %d of %d, format %d", m.AgeColumn, m.AgeFeature, m.Input.Dim(), m.NumInputs(), m.FormatVersion())
	}
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	if cols := sc.Columns(); cols[len(cols)-1] != "cycle" {
		t.Fatalf("scorer columns %v: want the age column last", cols)
	}
	nets, err := m.Networks()
	if err != nil {
		t.Fatal(err)
	}
	dd, err := WithAgeColumn(d, "cycle")
	if err != nil {
		t.Fatal(err)
	}
	p := &prepared{sIdx: []int{0, 1}, sensors: m.Spec.Sensors, ageIdx: 2}
	s := dd.Series[3]
	o := Options{AgeColumn: "cycle", RULCap: 125, HistoryEWMA: m.HistoryEWMA}
	mat, err := rulWindows(m.Spec, m.Period, o, p.rowsFor(s), s.T, agesOf(s, p.ageIdx), &Report{})
	if err != nil {
		t.Fatal(err)
	}
	ageAt := m.Spec.NumFeatures()
	st, _ := sc.NewStream()
	k := 0
	for i := range s.Rows {
		r, ok, err := st.Push(TimeOf(s.T[i]), p.scorerRow(s.Rows[i]))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		x := mat.X[k]
		if x[ageAt] != s.T[i] || s.T[i] < 200 {
			t.Fatalf("row %d: batch age %v, want the cycle %v", i, x[ageAt], s.T[i])
		}
		want := batchRUL(m, nets, x)
		if math.Abs(r.RUL-want) > 1e-9 {
			t.Fatalf("row %d: stream RUL %v, batch %v", i, r.RUL, want)
		}
		k++
	}
	if k != len(mat.X) || k != len(s.Rows) {
		t.Fatalf("stream scored %d windows, batch made %d, rows %d", k, len(mat.X), len(s.Rows))
	}
	// PredictLast (bin/eval rul) reads the age from the time column too.
	last, err := PredictLast(m, Data{Columns: d.Columns, TimeColumn: "cycle", Series: d.Series[3:4]})
	if err != nil || math.Abs(last[0]-mustLast(t, sc, p, s)) > 1e-9 {
		t.Fatalf("PredictLast %v (%v), stream at the last row %v", last, err, mustLast(t, sc, p, s))
	}
}

func mustLast(t *testing.T, sc *scoring.Scorer, p *prepared, s Series) float64 {
	t.Helper()
	st, _ := sc.NewStream()
	var v float64
	for i := range s.Rows {
		if r, ok, err := st.Push(TimeOf(s.T[i]), p.scorerRow(s.Rows[i])); err == nil && ok {
			v = r.RUL
		}
	}
	return v
}

// The age makes a stream that starts mid-life (a daemon restarted, a machine first
// seen when already old) score as the whole history does at the same rows; with the
// row count it does not.
func TestAgeColumnMidLifeStreamScoresAsWholeHistory(t *testing.T) {
	d := agedFleet(12, 1, 5)
	// No history inputs: they start with the stream, whatever the age says.
	m := fitAged(t, d, Options{HistoryEWMA: []float64{}})
	sc, _ := scoring.New(m)
	dd, _ := WithAgeColumn(d, "cycle")
	p := &prepared{sIdx: []int{0, 1}, ageIdx: 2}
	s := dd.Series[2]
	whole, _ := sc.NewStream()
	late, _ := sc.NewStream()
	from := 60 // the late stream starts here; compare once its window is full
	var compared int
	for i := range s.Rows {
		rw, okw, _ := whole.Push(TimeOf(s.T[i]), p.scorerRow(s.Rows[i]))
		if i < from {
			continue
		}
		rl, okl, _ := late.Push(TimeOf(s.T[i]), p.scorerRow(s.Rows[i]))
		if i >= from+m.Spec.Window-1 {
			if !okw || !okl || rw.RUL != rl.RUL {
				t.Fatalf("row %d: whole history %v (%v), stream from row %d %v (%v)", i, rw.RUL, okw, from, rl.RUL, okl)
			}
			compared++
		}
	}
	if compared == 0 {
		t.Fatal("nothing compared")
	}
}

// A row whose age is missing, not finite or negative is dropped and counted, in
// scoring (ErrBadAge, the stream unchanged: the next rows score as if it never came)
// and in training (age_rows_dropped); a filled-in row takes the previous row's age.
func TestBadAgeRowsDropped(t *testing.T) {
	d := agedFleet(12, 1, 7)
	// The age as a data column "hours" (the time column stays the cycle): some rows
	// without a usable age.
	d.Columns = append(slices.Clone(d.Columns), "hours")
	rng := rand.New(rand.NewPCG(1, 1))
	bad := 0
	for i := range d.Series {
		for j := range d.Series[i].Rows {
			h := 10 * d.Series[i].T[j]
			if j > 0 && rng.IntN(40) == 0 {
				h = []float64{math.NaN(), -1, math.Inf(1)}[bad%3]
				bad++
			}
			d.Series[i].Rows[j] = append(slices.Clone(d.Series[i].Rows[j]), h)
		}
	}
	m, rep, err := Fit(context.Background(), d, Options{Task: artifact.TaskRUL, Seed: 2, Ensemble: 2, Epochs: 5, Window: 8, AgeColumn: "hours"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Metrics["age_rows_dropped"] != float64(bad) || bad == 0 || slices.Contains(m.Spec.Sensors, "hours") {
		t.Fatalf("age_rows_dropped %v, want %d; sensors %v", rep.Metrics["age_rows_dropped"], bad, m.Spec.Sensors)
	}
	sc, _ := scoring.New(m)
	row := func(w, n, h float64) []float64 { return []float64{w, n, h} }
	a, _ := sc.NewStream()
	b, _ := sc.NewStream()
	for i := range 20 {
		ts := TimeOf(float64(i + 1))
		ra, oka, erra := a.Push(ts, row(0.1, 0, float64(10*(i+1))))
		if i == 12 {
			// b gets the same row without a usable age first, at the same time.
			for _, h := range []float64{math.NaN(), -5, math.Inf(1)} {
				if _, ok, err := b.Push(ts, row(0.1, 0, h)); !errors.Is(err, scoring.ErrBadAge) || ok || !strings.Contains(err.Error(), "hours") {
					t.Fatalf("age %v: ok %v, err %v; want ErrBadAge naming the column", h, ok, err)
				}
			}
		}
		rb, okb, errb := b.Push(ts, row(0.1, 0, float64(10*(i+1))))
		if erra != nil || errb != nil || oka != okb || oka && ra.RUL != rb.RUL {
			t.Fatalf("row %d: %v %v %v, after dropped rows %v %v %v", i, ra, oka, erra, rb, okb, errb)
		}
	}
	if b.C.BadAge != 3 || a.C.BadAge != 0 || b.C.Samples != a.C.Samples {
		t.Fatalf("bad age counted %d (and %d), samples %d vs %d", b.C.BadAge, a.C.BadAge, b.C.Samples, a.C.Samples)
	}
	// A gap of one period is filled with a row that takes the previous row's age,
	// in training (agesOf) as in scoring.
	ages := agesOf(Series{Rows: [][]float64{{0, 0, 5}, {math.NaN(), math.NaN(), math.NaN()}, {0, 0, 7}}}, 2)
	if !slices.Equal(ages, []float64{5, 5, 7}) {
		t.Fatalf("ages %v", ages)
	}
}

// Bad age settings are refused before data is read (Validate) or, when the data
// decides, with an error naming the flag.
func TestAgeColumnRefused(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Task: artifact.TaskRUL, AgeColumn: "cycle", AgeFeature: true}, "--age-column \"cycle\" and --age exclude each other"},
		{Options{Task: artifact.TaskAnomaly, AgeColumn: "cycle"}, "--age-column: only for --task rul models"},
		{Options{Task: artifact.TaskRUL, AgeColumn: "op", Settings: []string{"op"}}, "also a --settings column"},
		{Options{Task: artifact.TaskRUL, AgeColumn: " cycle"}, "one column name"},
	} {
		err := tc.o.Validate()
		if err == nil || !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.o, err, tc.want)
		}
	}
	d := agedFleet(6, 1, 1)
	for _, tc := range []struct {
		name string
		d    func() Data
		col  string
		want string
	}{
		{"absent", func() Data { return d }, "hours", `--age-column "hours" is neither a column`},
		{"timestamps", func() Data { dd := d; dd.Timestamps = true; return dd }, "cycle", "holds timestamps"},
		{"no row", func() Data {
			dd := Data{Columns: []string{"wear", "noise", "hours"}}
			for _, s := range d.Series {
				ns := Series{Asset: s.Asset, T: s.T}
				for _, r := range s.Rows {
					ns.Rows = append(ns.Rows, []float64{r[0], r[1], math.NaN()})
				}
				dd.Series = append(dd.Series, ns)
			}
			return dd
		}, "hours", "no row has a usable age"},
	} {
		_, _, err := Fit(context.Background(), tc.d(), Options{Task: artifact.TaskRUL, Epochs: 2, Window: 8, AgeColumn: tc.col})
		if err == nil || !errors.Is(err, ErrData) || !errors.Is(err, ErrNamesFlag) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want ErrData naming the flag with %q", tc.name, err, tc.want)
		}
	}
}

// Members (--member-windows) read the same age column as the model.
func TestAgeColumnWithMembers(t *testing.T) {
	m := fitAged(t, agedFleet(12, 30, 3), Options{MemberWindows: []int{12}})
	if len(m.Members) != 1 || m.Members[0].AgeColumn != "cycle" {
		t.Fatalf("members %d, member age column %q", len(m.Members), m.Members[0].AgeColumn)
	}
	if _, err := scoring.New(m); err != nil {
		t.Fatal(err)
	}
}
