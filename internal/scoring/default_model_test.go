package scoring_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/trainer"
)

// defaultModel trains the trainer's default anomaly model (PCA monitor, sensor checks)
// on 8 coupled synthetic sensors sampled every minute.
func defaultModel(tb testing.TB) (*scoring.Scorer, [][]float64) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	s := trainer.Series{Asset: "m"}
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for i := range 3000 {
		load := math.Sin(float64(i) / 90)
		row := make([]float64, len(names))
		for j := range row {
			row[j] = float64(j+1)*load + 0.1*rng.NormFloat64()
		}
		s.T, s.Rows = append(s.T, float64(1_700_000_000+60*i)), append(s.Rows, row)
	}
	m, _, err := trainer.Fit(context.Background(), trainer.Data{Columns: names, Series: []trainer.Series{s}}, trainer.Options{Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if m.Monitor == nil || m.SensorCheck == nil {
		tb.Fatal("the default model has no monitor or sensor check")
	}
	sc, err := scoring.New(m)
	if err != nil {
		tb.Fatal(err)
	}
	return sc, s.Rows
}

// The live path with the default model allocates nothing per row, as the daemon needs.
func TestDefaultModelPushAllocatesNothing(t *testing.T) {
	sc, rows := defaultModel(t)
	st, _ := sc.NewStream()
	i := 0
	push := func() {
		_, _, _ = st.Push(time.Unix(1_800_000_000+60*int64(i), 0), rows[i%len(rows)])
		i++
	}
	if sc.M.Baseline == nil {
		t.Fatal("the default model has no baseline")
	}
	for range 2000 { // past the first window and the baseline's 12 h warm-up (minute rows)
		push()
	}
	if n := testing.AllocsPerRun(500, push); n != 0 {
		t.Fatalf("%v allocations per row", n)
	}
}

// BenchmarkPush8SensorsDefault is BenchmarkPush8Sensors with the trainer's default
// anomaly model: the PCA monitor and the sensor checks.
func BenchmarkPush8SensorsDefault(b *testing.B) {
	sc, rows := defaultModel(b)
	st, _ := sc.NewStream()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _, _ = st.Push(time.Unix(1_800_000_000+60*int64(i), 0), rows[i%len(rows)])
	}
}
