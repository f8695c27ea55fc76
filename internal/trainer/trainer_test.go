package trainer_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/trainer"
)

// synth makes a coupled 3-sensor machine: load varies by regime of the shift, current
// follows load, temperature follows current with lag. With drift > 0 the temperature
// departs from that relation from row driftAt on (a cooling fault).
func synth(n int, seed uint64, driftAt int, drift float64) trainer.Series {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := trainer.Series{Asset: "m1"}
	temp := 40.0
	for i := 0; i < n; i++ {
		load := 0.5 + 0.3*math.Sin(float64(i)/150) + 0.05*rng.NormFloat64()
		cur := 10*load + 0.2*rng.NormFloat64()
		temp += 0.05 * (30 + 2*cur - temp)
		t := temp + 0.2*rng.NormFloat64()
		if driftAt > 0 && i >= driftAt {
			t += drift * float64(i-driftAt) / 100
		}
		s.T = append(s.T, float64(1_700_000_000+i))
		s.Rows = append(s.Rows, []float64{load, cur, t})
	}
	return s
}

func TestAnomalyModelDetectsDriftAndNamesSensor(t *testing.T) {
	d := trainer.Data{Columns: []string{"load", "current", "temp"}, Series: []trainer.Series{synth(3000, 1, 0, 0)}}
	m, rep, err := trainer.Fit(context.Background(), d, trainer.Options{Seed: 3, Epochs: 60, Context: []string{"load"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Threshold["warn"] <= 0 || m.Alert.Warn != rep.Threshold["warn"] {
		t.Fatalf("threshold %v", rep.Threshold)
	}
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	// Healthy data from another seed: no alert. Same length with a temperature drift:
	// an alert whose top sensor is temp.
	for _, tc := range []struct {
		name  string
		s     trainer.Series
		alert bool
	}{{"healthy", synth(2000, 9, 0, 0), false}, {"drift", synth(2000, 9, 1000, 3), true}} {
		st, _ := sc.NewStream()
		raised, top := false, ""
		for i, row := range tc.s.Rows {
			r, ok, err := st.Push(timeOf(tc.s.T[i]), row)
			if err != nil {
				t.Fatal(err)
			}
			if ok && r.Event.Transition == alerting.Raised && !raised {
				raised = true
				best := 0
				for k := range r.Shares {
					if r.Shares[k] > r.Shares[best] {
						best = k
					}
				}
				top = m.Targets[best]
				t.Logf("%s: raise at row %d shares %v resid %v", tc.name, i, r.Shares, r.Residual)
			}
		}
		if raised != tc.alert || (tc.alert && top != "temp") {
			t.Fatalf("%s: raised=%v top=%q, want raised=%v top=temp", tc.name, raised, top, tc.alert)
		}
	}
}

func TestRULLearnsDegradation(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	d := trainer.Data{Columns: []string{"wear", "noise"}}
	for a := 0; a < 30; a++ {
		life := 150 + rng.IntN(100)
		s := trainer.Series{Asset: string(rune('A' + a))}
		for c := 1; c <= life; c++ {
			s.T = append(s.T, float64(c))
			// Health indicator grows as the end approaches.
			s.Rows = append(s.Rows, []float64{math.Exp(-float64(life-c)/40) + 0.02*rng.NormFloat64(), rng.NormFloat64()})
		}
		d.Series = append(d.Series, s)
	}
	m, rep, err := trainer.Fit(context.Background(), d, trainer.Options{Task: artifact.TaskRUL, Seed: 1, Ensemble: 2, Epochs: 80, Window: 10})
	if err != nil {
		t.Fatal(err)
	}
	// A perfect model would be exact near failure and capped far from it; 20 cycles of
	// RMSE over a 125 cap is a loose bound that a model ignoring the data cannot meet
	// (predicting the mean gives about 40).
	if rmse := rep.Metrics["val_rmse_all_cycles"]; !(rmse < 20) {
		t.Fatalf("validation RMSE %v, want < 20", rmse)
	}
	if _, err := trainer.PredictLast(m, d); err != nil {
		t.Fatal(err)
	}
}

func TestBadData(t *testing.T) {
	constant := trainer.Series{Asset: "x"}
	for i := 0; i < 500; i++ {
		constant.T = append(constant.T, float64(i))
		constant.Rows = append(constant.Rows, []float64{1, math.NaN()})
	}
	cases := []struct {
		name string
		d    trainer.Data
		o    trainer.Options
	}{
		{"empty", trainer.Data{Columns: []string{"a"}}, trainer.Options{}},
		{"constant and all-NaN", trainer.Data{Columns: []string{"a", "b"}, Series: []trainer.Series{constant}}, trainer.Options{}},
		{"too few rows", trainer.Data{Columns: []string{"load", "current", "temp"}, Series: []trainer.Series{synth(12, 1, 0, 0)}}, trainer.Options{}},
		{"rul with one asset", trainer.Data{Columns: []string{"load", "current", "temp"}, Series: []trainer.Series{synth(300, 1, 0, 0)}}, trainer.Options{Task: "rul"}},
		{"unknown setting", trainer.Data{Columns: []string{"load", "current", "temp"}, Series: []trainer.Series{synth(300, 1, 0, 0)}}, trainer.Options{Settings: []string{"speed"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := trainer.Fit(context.Background(), tc.d, tc.o)
			if !errors.Is(err, trainer.ErrData) {
				t.Fatalf("err = %v, want ErrData", err)
			}
		})
	}
	if _, _, err := trainer.Fit(context.Background(), trainer.Data{}, trainer.Options{Task: "forecast"}); err == nil {
		t.Fatal("unknown task accepted")
	}
}

var timeOf = trainer.TimeOf

// The envelope is the range of each target's latest values over the healthy windows,
// and a reading beyond it by one allowance raises an alert within k-of-m rows, naming
// the sensor: the learned limit alarm.
func TestEnvelopeLearnedAndRaises(t *testing.T) {
	healthy := synth(3000, 1, 0, 0)
	d := trainer.Data{Columns: []string{"load", "current", "temp"}, Series: []trainer.Series{healthy}}
	// The networks alone: the monitor would outscore the limit alarm this test measures.
	o := trainer.Options{Seed: 3, Epochs: 40, Context: []string{"load"}, Envelope: 0.1, Detector: trainer.DetectorNets}
	// 3000 rows a second apart are under an hour: too short to learn limits from.
	m, _, err := trainer.Fit(context.Background(), d, o)
	if err != nil || m.Envelope != nil {
		t.Fatalf("short history: envelope %+v (err %v), want none", m.Envelope, err)
	}
	for i := range healthy.T { // a row a minute: 50 hours
		healthy.T[i] = healthy.T[0] + 60*float64(i)
	}
	m, _, err = trainer.Fit(context.Background(), d, o)
	if err != nil {
		t.Fatal(err)
	}
	if m.Envelope == nil || m.Envelope.Allowance != 0.1 {
		t.Fatalf("envelope %+v, want one with allowance 0.1", m.Envelope)
	}
	k := slices.Index(m.Targets, "temp")
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range healthy.Rows {
		lo, hi = math.Min(lo, r[2]), math.Max(hi, r[2])
	}
	// Windows start once full, so the envelope sits inside the data's range, close to it.
	if e := m.Envelope; e.Min[k] < lo || e.Max[k] > hi || e.Max[k]-e.Min[k] < 0.9*(hi-lo) {
		t.Fatalf("temp envelope [%v, %v], data range [%v, %v]", e.Min[k], e.Max[k], lo, hi)
	}
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	// Healthy rows, then the temperature jumps two allowances above the envelope.
	const at = 1500
	s := synth(2000, 9, 0, 0)
	jump := m.Envelope.Max[k] + 2*m.Envelope.Allowance*(m.Envelope.Max[k]-m.Envelope.Min[k])
	st, _ := sc.NewStream()
	for i, row := range s.Rows {
		if i >= at {
			row = []float64{row[0], row[1], jump}
		}
		r, ok, err := st.Push(timeOf(s.T[i]), row)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || r.Event.Transition != alerting.Raised {
			continue
		}
		if i < at {
			t.Fatalf("raised at healthy row %d", i)
		}
		// The limit alarm scores 2 x warn; the temperature's network, which follows
		// its EWMA, may score the jump higher still. Either way temp is blamed.
		if i > at+m.Alert.M || r.Shares[k] < 0.99 || r.Score < 2*m.Alert.Warn-1e-9 {
			t.Fatalf("raised at row %d (jump at %d, m %d) score %v shares %v; want within m rows, score at least 2 x warn %v, temp blamed", i, at, m.Alert.M, r.Score, r.Shares, m.Alert.Warn)
		}
		return
	}
	t.Fatal("no alert after the temperature left its envelope")
}

// A stuck, a spiking and a silent sensor each raise a sensor-fault alert that names
// it, from a model trained with the defaults on healthy data. Spikes on two sensors at
// the same samples are the process turning impulsive (cavitation moves flow, pressure
// and vibration at once), not two broken transmitters: a process alert, at least at
// the sensor level.
func TestSensorFaultsRaiseSensorAlerts(t *testing.T) {
	healthy := synth(3000, 1, 0, 0)
	d := trainer.Data{Columns: []string{"load", "current", "temp"}, Series: []trainer.Series{healthy}}
	m, _, err := trainer.Fit(context.Background(), d, trainer.Options{Seed: 3, Epochs: 20, Context: []string{"load"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.SensorCheck == nil {
		t.Fatal("no sensor check in a default anomaly model")
	}
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	k := slices.Index(m.Targets, "temp")
	const at = 1500
	spikes := func(i int, v, by float64) float64 {
		if i%15 == 0 {
			return v + by
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		issue   string // "" for a process alert
		corrupt func(i int, row []float64, stuck float64) []float64
	}{
		{"stuck", scoring.IssueStuck, func(_ int, r []float64, stuck float64) []float64 { return []float64{r[0], r[1], stuck} }},
		{"spiking", scoring.IssueSpiking, func(i int, r []float64, _ float64) []float64 { return []float64{r[0], r[1], spikes(i, r[2], 8)} }},
		{"silent", scoring.IssueSilent, func(_ int, r []float64, _ float64) []float64 { return []float64{r[0], r[1], math.NaN()} }},
		{"impulsive", "", func(i int, r []float64, _ float64) []float64 {
			return []float64{r[0], spikes(i, r[1], 6), spikes(i, r[2], 8)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(2500, 9, 0, 0)
			st, _ := sc.NewStream()
			stuck := s.Rows[at][2]
			for i, row := range s.Rows {
				if i >= at {
					row = tc.corrupt(i, row, stuck)
				}
				r, ok, err := st.Push(timeOf(s.T[i]), row)
				if err != nil {
					t.Fatal(err)
				}
				if !ok || r.Event.Transition != alerting.Raised {
					continue
				}
				if i < at {
					t.Fatalf("raised at healthy row %d", i)
				}
				if tc.issue == "" {
					if r.SensorIssue != "" || r.Score < scoring.SensorLevel*m.Alert.Warn {
						t.Fatalf("raised at row %d with sensor issue %q score %v, want a process alert of at least %v x warn", i, r.SensorIssue, r.Score, scoring.SensorLevel)
					}
					return
				}
				if r.SensorIssue != tc.issue || r.Shares[k] != 1 {
					t.Fatalf("raised at row %d with issue %q shares %v, want %q on temp", i, r.SensorIssue, r.Shares, tc.issue)
				}
				return
			}
			t.Fatalf("no alert for a %s sensor", tc.name)
		})
	}
}

// A default anomaly model (monitor, sensor checks, baseline with its tail rate:
// format 6) survives its file: the loaded model scores a stream exactly as the
// trained one.
func TestDefaultModelFileRoundTrip(t *testing.T) {
	d := trainer.Data{Columns: []string{"load", "current", "temp"}, Series: []trainer.Series{synth(2000, 1, 0, 0)}}
	m, _, err := trainer.Fit(context.Background(), d, trainer.Options{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if m.Monitor == nil || m.SensorCheck == nil || m.Baseline == nil || len(m.Nets) != 0 || m.FormatVersion() != 6 {
		t.Fatalf("default model: monitor %v sensor check %v baseline %v nets %d format %d", m.Monitor != nil, m.SensorCheck != nil, m.Baseline != nil, len(m.Nets), m.FormatVersion())
	}
	path := filepath.Join(t.TempDir(), "m.model")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := artifact.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := synth(600, 5, 300, 3)
	a, _ := scoring.New(m)
	b, _ := scoring.New(back)
	sa, _ := a.NewStream()
	sb, _ := b.NewStream()
	for i, row := range s.Rows {
		ra, oka, _ := sa.Push(timeOf(s.T[i]), row)
		var score float64
		if oka {
			score = ra.Score
		}
		rb, okb, _ := sb.Push(timeOf(s.T[i]), row)
		if oka != okb || okb && rb.Score != score {
			t.Fatalf("row %d: trained model %v %v, loaded %v %v", i, oka, score, okb, rb.Score)
		}
	}
}
