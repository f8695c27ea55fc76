package trainer

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/model"
	"github.com/faultline/faultline/internal/scoring"
)

// runToFailure makes assets whose sensor carries little information: only the age
// tells how far an asset is into its (similar) life.
func runToFailure(n int, seed uint64) Data {
	rng := rand.New(rand.NewPCG(seed, 3))
	d := Data{Columns: []string{"wear", "noise"}}
	for a := 0; a < n; a++ {
		life := 120 + rng.IntN(40)
		s := Series{Asset: string(rune('A' + a))}
		for c := 1; c <= life; c++ {
			s.T = append(s.T, float64(c))
			s.Rows = append(s.Rows, []float64{math.Exp(-float64(life-c)/30) + 0.05*rng.NormFloat64(), rng.NormFloat64()})
		}
		d.Series = append(d.Series, s)
	}
	return d
}

// batchRUL is the RUL the model's networks give the batch feature vector x, computed
// by hand as the scorer should: scale, predict with each network, average, undo the
// target scaling, floor at 0. Tests compare it with what a stream reports.
func batchRUL(m *artifact.Model, nets []*model.MLP[float32], x []float64) float64 {
	scaled := make([]float64, len(x))
	_ = m.Input.Transform(x, scaled)
	x32 := make([]float32, len(x))
	for j, v := range scaled {
		x32[j] = float32(v)
	}
	var sum float64
	for _, n := range nets {
		sum += float64(n.NewPredictor().Predict(x32, make([]float32, 1))[0])
	}
	return math.Max(0, m.TargetCenter[0]+m.TargetScale[0]*sum/float64(len(nets)))
}

// The age input must be the same number in training (batch windows) and in live
// scoring: the network fed the batch vector of each window must give exactly the
// RUL the stream reports at that row.
func TestAgeFeatureBatchEqualsStream(t *testing.T) {
	d := runToFailure(12, 1)
	m, _, err := Fit(context.Background(), d, Options{Task: artifact.TaskRUL, Seed: 2, Ensemble: 2, Epochs: 5, Window: 8, AgeFeature: true, HistoryEWMA: []float64{}})
	if err != nil {
		t.Fatal(err)
	}
	if !m.AgeFeature || m.Input.Dim() != m.Spec.NumFeatures()+1 {
		t.Fatalf("age feature %v, input dim %d, features %d", m.AgeFeature, m.Input.Dim(), m.Spec.NumFeatures())
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
	s := d.Series[3]
	// rulWindows: the rul windows, with the padded ones of the first rows.
	mat, err := rulWindows(m.Spec, m.Period, Options{AgeFeature: true, RULCap: 125}, p.rowsFor(s), s.T, nil, &Report{})
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
		if got := x[len(x)-1]; got != float64(i+1) {
			t.Fatalf("row %d: batch age %v, want %d", i, got, i+1)
		}
		want := batchRUL(m, nets, x)
		if math.Abs(r.RUL-want) > 1e-9 {
			t.Fatalf("row %d: stream RUL %v, batch %v", i, r.RUL, want)
		}
		k++
	}
	if k != len(mat.X) {
		t.Fatalf("stream scored %d windows, batch made %d", k, len(mat.X))
	}
	// Reset restarts the age: the first window after it is scored as at the start.
	st.Reset()
	var first float64
	for i, row := range s.Rows[:m.Spec.Window] {
		if r, ok, _ := st.Push(TimeOf(s.T[i]), row); ok {
			first = r.RUL
		}
	}
	st2, _ := sc.NewStream()
	var fresh float64
	for i, row := range s.Rows[:m.Spec.Window] {
		if r, ok, _ := st2.Push(TimeOf(s.T[i]), row); ok {
			fresh = r.RUL
		}
	}
	if first != fresh {
		t.Fatalf("after Reset %v, fresh stream %v", first, fresh)
	}
}

func TestAgeFeatureRefusedForAnomaly(t *testing.T) {
	if _, _, err := Fit(context.Background(), runToFailure(2, 1), Options{AgeFeature: true}); err == nil {
		t.Fatal("age feature accepted for an anomaly model")
	}
}

// The refit is the rul default: early stopping trains RefitProbe networks, which find
// the epoch count and fit the band; the model holds the refit ensemble. NoRefit keeps
// the early-stopped ensemble.
func TestRefitAllTrainsOnEveryAsset(t *testing.T) {
	for _, o := range []Options{{RefitAll: true}, {}} {
		o.Task, o.Seed, o.Ensemble, o.Epochs, o.Window = artifact.TaskRUL, 1, 2, 20, 8
		m, rep, err := Fit(context.Background(), runToFailure(10, 4), o)
		if err != nil {
			t.Fatal(err)
		}
		if e := rep.Metrics["refit_epochs"]; e < 1 || e > 20 || len(m.Nets) != 2 || len(rep.BestEpochs) != RefitProbe || m.Band == nil {
			t.Fatalf("%+v: refit epochs %v, nets %d, early-stopped networks %d, band %v", o, e, len(m.Nets), len(rep.BestEpochs), m.Band)
		}
	}
	m, rep, err := Fit(context.Background(), runToFailure(10, 4), Options{Task: artifact.TaskRUL, Seed: 1, Ensemble: 2, Epochs: 20, Window: 8, NoRefit: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rep.Metrics["refit_epochs"]; ok || len(m.Nets) != 2 || len(rep.BestEpochs) != 2 {
		t.Fatalf("NoRefit: refit %v, nets %d, early-stopped %d", rep.Metrics["refit_epochs"], len(m.Nets), len(rep.BestEpochs))
	}
	for _, o := range []Options{{Task: artifact.TaskRUL, RefitAll: true, NoRefit: true}, {Task: artifact.TaskAnomaly, NoRefit: true}} {
		if err := o.Validate(); err == nil || !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), "--refit-all") {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if r := (Options{Task: artifact.TaskRUL}).Resolved(); !r.RefitAll {
		t.Error("rul defaults without the refit")
	}
	if r := (Options{Task: artifact.TaskAnomaly}).Resolved(); r.RefitAll {
		t.Error("anomaly defaults with the refit")
	}
}

// wave is a periodic signal whose pattern (not level) changes at row change: the
// period halves and the mean stays 0, the kind of anomaly a window-mean
// reconstruction cannot see.
func wave(n, change int, seed uint64) Series {
	rng := rand.New(rand.NewPCG(seed, 9))
	s := Series{Asset: "w"}
	for i := 0; i < n; i++ {
		period := 40.0
		if change > 0 && i >= change {
			period = 13
		}
		s.T = append(s.T, float64(1_700_000_000+60*i))
		s.Rows = append(s.Rows, []float64{math.Sin(2*math.Pi*float64(i)/period) + 0.05*rng.NormFloat64()})
	}
	return s
}

func TestForecastCatchesPatternChange(t *testing.T) {
	train := Data{Columns: []string{"v"}, Series: []Series{wave(1500, 0, 1)}}
	o := Options{Seed: 1, Epochs: 60, Forecast: 1, Window: 20, Clear: 200,
		Likelihood: &artifact.Likelihood{Short: 5, Long: 1000, MinHistory: 400, MinStd: 0.05}}
	m, _, err := Fit(context.Background(), train, o)
	if err != nil {
		t.Fatal(err)
	}
	if m.Forecast != 1 || m.LeaveOneOut || m.Likelihood == nil || m.Alert.Warn != 4 {
		t.Fatalf("forecast %d loo %v likelihood %v warn %v", m.Forecast, m.LeaveOneOut, m.Likelihood, m.Alert.Warn)
	}
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	s := wave(3000, 2000, 7)
	st, _ := sc.NewStream()
	var raises []int
	for i, row := range s.Rows {
		r, ok, err := st.Push(TimeOf(s.T[i]), row)
		if err != nil {
			t.Fatal(err)
		}
		if ok && r.Event.Transition == alerting.Raised {
			raises = append(raises, i)
		}
	}
	if len(raises) == 0 || raises[0] < 2000 || raises[0] > 2100 {
		t.Fatalf("raises at %v, want the first within 100 rows after the change at 2000 and none before", raises)
	}
}
