package scoring

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
)

// levelModel returns a model whose residual likelihood is muted (a huge MinStd keeps
// its z near 0), so the score is the level score alone.
func levelModel(t *testing.T, lag int) *Stream {
	t.Helper()
	m := artifacttest.Anomaly([]string{"v"}, 2)
	m.Likelihood = &artifact.Likelihood{Short: 1, Long: 50, MinHistory: 10, MinStd: 1e9}
	m.Level = &artifact.Likelihood{Short: 1, Long: 50, MinHistory: 10, MinStd: 0.1, Lag: lag}
	return newTestStream(t, m)
}

var lt0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func pushScore(t *testing.T, st *Stream, i int, v float64) float64 {
	t.Helper()
	r, ok, err := st.Push(lt0.Add(time.Duration(i)*time.Second), []float64{v})
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return math.NaN()
	}
	return r.Score
}

// A series that repeats every 8 rows has a zero change against 8 rows earlier: the
// lagged level score stays 0 through the whole cycle, then a break of the pattern by
// +5 moves the 2-row window mean by 2.5, z = 2.5 / MinStd 0.1 = 25.
func TestLevelLagIgnoresTheCycle(t *testing.T) {
	st := levelModel(t, 8)
	i := 0
	for ; i < 200; i++ {
		v := 3 * math.Sin(2*math.Pi*float64(i%8)/8)
		if s := pushScore(t, st, i, v); s > 1e-6 {
			t.Fatalf("row %d: score %v on an unchanged cycle", i, s)
		}
	}
	v := 3*math.Sin(2*math.Pi*float64(i%8)/8) + 5
	if s := pushScore(t, st, i, v); math.Abs(s-25) > 1e-6 {
		t.Fatalf("score %v after the break, want 25", s)
	}
	// Without the lag the same cycle is a moving level and scores well above 0.
	st = levelModel(t, 0)
	peak := 0.0
	for i := 0; i < 200; i++ {
		peak = math.Max(peak, pushScore(t, st, i, 3*math.Sin(2*math.Pi*float64(i%8)/8)))
	}
	if peak < 1 {
		t.Fatalf("unlagged level score peaked at %v on a cycle of amplitude 3", peak)
	}
}

// After Reset the lagged value is unknown: no level score until a whole lag passed.
func TestLevelLagReset(t *testing.T) {
	st := levelModel(t, 4)
	for i := 0; i < 100; i++ {
		pushScore(t, st, i, 1)
	}
	st.Reset()
	for i := 0; i < 6; i++ {
		if s := pushScore(t, st, 200+i, 50); s > 1e-6 {
			t.Fatalf("row %d after reset: score %v, want 0 (warm-up and unknown lag)", i, s)
		}
	}
}

func TestLevelValidate(t *testing.T) {
	m := artifacttest.Anomaly([]string{"v"}, 2)
	m.Level = &artifact.Likelihood{Short: 1, Long: 50, MinStd: 0.1}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "needs the likelihood") {
		t.Fatalf("level without likelihood: %v", err)
	}
	m.Likelihood = &artifact.Likelihood{Short: 1, Long: 50, MinStd: 0.1}
	m.Level.Lag = -1
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "level windows") {
		t.Fatalf("negative lag: %v", err)
	}
}
