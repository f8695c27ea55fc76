package eval

import (
	"math"
	"testing"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.10g, want %.10g (tol %g)", name, got, want, tol)
	}
}

func TestRUL(t *testing.T) {
	// d = (+10, -13, 0): RMSE = sqrt((100+169)/3); PHM08 = (e^1 - 1) + (e^1 - 1) + 0,
	// the two branches meeting the same value at their own scale (by hand).
	e, err := RUL([]float64{60, 7, 50}, []float64{50, 20, 50})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "rmse", e.RMSE, math.Sqrt(269.0/3), 1e-12)
	near(t, "phm08", e.PHM08, 2*(math.E-1), 1e-12)
	near(t, "mae", e.MAE, 23.0/3, 1e-12)
	near(t, "bias", e.Bias, -1, 1e-12)
	if e.Early != 1 || e.Late != 1 || e.N != 3 {
		t.Fatalf("counts %+v", e)
	}
	// Late costs more than early by the same amount.
	if PHM08Term(20) <= PHM08Term(-20) {
		t.Fatal("PHM08 must punish late predictions more")
	}
	for _, bad := range [][2][]float64{{{1}, {1, 2}}, {{}, {}}, {{math.NaN()}, {3}}} {
		if _, err := RUL(bad[0], bad[1]); err == nil {
			t.Errorf("RUL(%v, %v) accepted", bad[0], bad[1])
		}
	}
	if c := CapRUL([]float64{10, 200}, 125); c[0] != 10 || c[1] != 125 {
		t.Fatalf("cap %v", c)
	}
}

func TestPointwise(t *testing.T) {
	// labels 1100 1100, alerts 1010 1000: TP 2, FP 1, FN 2, TN 3.
	l := []bool{true, true, false, false, true, true, false, false}
	a := []bool{true, false, true, false, true, false, false, false}
	m, err := Pointwise(l, a)
	if err != nil {
		t.Fatal(err)
	}
	if m.TP != 2 || m.FP != 1 || m.FN != 2 || m.TN != 3 {
		t.Fatalf("counts %+v", m)
	}
	near(t, "precision", m.Precision, 2.0/3, 1e-12)
	near(t, "recall", m.Recall, 0.5, 1e-12)
	near(t, "f1", m.F1, 2*(2.0/3)*0.5/(2.0/3+0.5), 1e-12) // = 4/7
	near(t, "far", m.FalseAlarmRate, 0.25, 1e-12)
	near(t, "missed", m.MissedRate, 0.5, 1e-12)
	if _, err := Pointwise(l, a[:3]); err == nil {
		t.Fatal("length mismatch accepted")
	}
}

func TestEvents(t *testing.T) {
	labels := []bool{false, false, true, true, true, false, false, true, true, false}
	spans := Spans(labels)
	if len(spans) != 2 || spans[0] != (Span{2, 4}) || spans[1] != (Span{7, 8}) {
		t.Fatalf("spans %v", spans)
	}
	times := make([]float64, 10)
	for i := range times {
		times[i] = float64(i) * 8640 // a tenth of a day a row: 0.9 days observed
	}
	// Raise at 1 (one row early, allowed), at 3 (same event), at 5 (just after the
	// first event, before the second one's allowance: false).
	m, err := Events(spans, []int{1, 3, 5}, nil, times, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Detected != 1 || m.FalseAlerts != 1 || m.Alerts != 3 {
		t.Fatalf("%+v", m)
	}
	near(t, "lead", m.MeanLead, 3*8640, 1e-9)
	near(t, "false/day", m.FalsePerDay, 1/0.9, 1e-12)
	if _, err := Events(spans, []int{10}, nil, times, 0, 0); err == nil {
		t.Fatal("raise out of range accepted")
	}
	// The alert raised at 5 stays open through the second event: that event is
	// detected by it (from row 6, the first of its early allowance), and the raise
	// is still false.
	active := []bool{false, true, true, true, true, true, true, true, true, false}
	m, err = Events(spans, []int{1, 5}, active, times, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Detected != 2 || m.DetectedOpen != 1 || m.FalseAlerts != 1 {
		t.Fatalf("with an open alert: %+v", m)
	}
	near(t, "lead of the open alert", m.LeadTimes[1], 2*8640, 1e-9)
}

func TestScaledSigmoid(t *testing.T) {
	// Values quoted in NAB's sweeper.py docstring.
	near(t, "left edge", ScaledSigmoid(-1), 0.98661, 1e-5)
	near(t, "middle", ScaledSigmoid(-0.5), 0.84828, 1e-5)
	near(t, "right edge", ScaledSigmoid(0), 0, 1e-15)
	near(t, "one width after", ScaledSigmoid(1), -0.98661, 1e-5)
	near(t, "far", ScaledSigmoid(3), -1, 0)
}

func TestNABFile(t *testing.T) {
	// 1000 rows: probation = 150. One window [500, 599], width 100.
	w := []Span{{500, 599}}
	p := ProfileStandard
	cases := []struct {
		name string
		det  []int
		want float64
	}{
		{"none", nil, -1},
		{"at start", []int{500}, 1},
		// Later detection in the same window does not add: only the best counts.
		{"start and later", []int{500, 550}, 1},
		{"middle", []int{550}, ScaledSigmoid(-0.5) / ScaledSigmoid(-1)}, // position -(599-550+1)/100
		{"last row", []int{599}, ScaledSigmoid(-0.01) / ScaledSigmoid(-1)},
		// Just after the window: position 1/99, sigma slightly below 0, times A_FP,
		// and the window is missed.
		{"just after", []int{600}, -1 + 0.11*ScaledSigmoid(1.0/99)},
		// Before every window: a full -A_FP.
		{"before", []int{300}, -1 - 0.11},
		// In probation: ignored.
		{"probation", []int{100}, -1},
		{"far after", []int{999}, -1 - 0.11}, // 400/99 > 3
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NABScoreFile("f", 1000, w, tc.det, p)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "raw", f.Raw, tc.want, 1e-12)
			if f.Null != -1 || f.Perfect != 1 || f.Windows != 1 {
				t.Fatalf("null %v perfect %v windows %d", f.Null, f.Perfect, f.Windows)
			}
		})
	}
	// reward_low_FN: a miss costs 2.
	f, _ := NABScoreFile("f", 1000, w, nil, ProfileRewardLowFN)
	near(t, "low FN miss", f.Raw, -2, 0)
	f, _ = NABScoreFile("f", 1000, w, []int{300}, ProfileRewardLowFP)
	near(t, "low FP before", f.Raw, -1.22, 1e-12)
}

func TestNABProbationAndWindowsInIt(t *testing.T) {
	// 1000 rows, probation 150: window [10, 50] is wholly in probation and not scored;
	// window [100, 299] straddles it and is scored; a detection at 160 is in it at
	// position -(299-160+1)/200 = -0.7.
	f, err := NABScoreFile("f", 1000, []Span{{10, 50}, {100, 299}}, []int{20, 160}, ProfileStandard)
	if err != nil {
		t.Fatal(err)
	}
	if f.Windows != 1 || f.Detected != 1 || f.FP != 0 {
		t.Fatalf("%+v", f)
	}
	near(t, "raw", f.Raw, ScaledSigmoid(-0.7)/ScaledSigmoid(-1), 1e-12)
	// Probation is capped at 750 rows for long files.
	if ProbationRows(10000) != 750 || ProbationRows(1000) != 150 || ProbationRows(99) != 14 {
		t.Fatal("probation length")
	}
}

func TestNABNormalisation(t *testing.T) {
	w := []Span{{300, 349}, {700, 749}}
	perfect, _ := NABScoreFile("a", 1000, w, []int{300, 700}, ProfileStandard)
	null, _ := NABScoreFile("a", 1000, w, nil, ProfileStandard)
	near(t, "perfect", perfect.Normalized(), 100, 1e-9)
	near(t, "null", null.Normalized(), 0, 1e-12)
	// Over a set: sums first. File a perfect (raw 2 of 2 windows), file b null with one
	// window (raw -1): (1 - (-3)) / (3 - (-3)) = 66.67.
	b, _ := NABScoreFile("b", 1000, []Span{{500, 599}}, nil, ProfileStandard)
	raw, nl, pf, norm := NABTotal([]NABFile{perfect, b})
	near(t, "raw", raw, 1, 1e-12)
	near(t, "null", nl, -3, 0)
	near(t, "perfect", pf, 3, 0)
	near(t, "normalised", norm, 100*4.0/6, 1e-9)
}

func TestNABBadInput(t *testing.T) {
	for _, tc := range []struct {
		w   []Span
		det []int
	}{
		{[]Span{{5, 2}}, nil},
		{[]Span{{0, 10}, {5, 20}}, nil},
		{[]Span{{0, 200}}, nil},
		{nil, []int{-1}},
		{nil, []int{100}},
	} {
		if _, err := NABScoreFile("x", 100, tc.w, tc.det, ProfileStandard); err == nil {
			t.Errorf("windows %v detections %v accepted", tc.w, tc.det)
		}
	}
}
