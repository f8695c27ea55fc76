package scoring

import (
	"math"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
)

// The novelty bar: with window 3, gap 1, ratio 0.5 and warn 2, row n's score is
// scaled by 2 / max(2, 0.5 x max(scores n-3..n-1)).
func TestNoveltyApply(t *testing.T) {
	v := newNovelty(&artifact.Novelty{Window: 3, Gap: 1, Ratio: 0.5})
	in := []float64{8, 1, 1, 1, 1, 1, 10}
	// Rows 1-3 see row 0's 8 in the window (bar 0.5 x 8 = 4); row 4 on, it has left.
	want := []float64{8, 0.5, 0.5, 0.5, 1, 1, 10}
	for i, s := range in {
		if got := v.scale(s, 2); math.Abs(got-want[i]) > 1e-12 {
			t.Fatalf("row %d: %v, want %v", i, got, want[i])
		}
	}
	v.reset()
	if got := v.scale(1, 2); got != 1 {
		t.Fatalf("after reset: %v, want 1 (empty window)", got)
	}
}

// A NaN score never poisons the running maximum, and a bar below warn changes nothing.
func TestNoveltyNaNAndLowBar(t *testing.T) {
	v := newNovelty(&artifact.Novelty{Window: 5, Gap: 0, Ratio: 1})
	v.scale(math.NaN(), 4)
	for i := 0; i < 10; i++ {
		if got := v.scale(3, 4); got != 3 {
			t.Fatalf("row %d: %v, want 3 (past max 3 is under warn 4)", i, got)
		}
	}
}

// A stream with novelty repeats the same excursion: the first one keeps its score,
// the second, right after, is scaled down below warn.
func TestNoveltyStream(t *testing.T) {
	m := artifacttest.Anomaly([]string{"v"}, 2)
	m.Likelihood = &artifact.Likelihood{Short: 1, Long: 50, MinHistory: 10, MinStd: 1e9}
	m.Level = &artifact.Likelihood{Short: 1, Long: 1000, MinHistory: 10, MinStd: 0.1}
	m.Alert.Warn, m.Alert.Critical, m.Alert.Clear = 4, 8, 3
	m.Novelty = &artifact.Novelty{Window: 100, Gap: 5, Ratio: 1}
	st := newTestStream(t, m)
	i, first, second := 0, 0.0, 0.0
	for ; i < 100; i++ {
		pushScore(t, st, i, 0)
	}
	for k := 0; k < 3; k++ {
		first = math.Max(first, pushScore(t, st, i, 5))
		i++
	}
	for k := 0; k < 20; k++ {
		pushScore(t, st, i, 0)
		i++
	}
	for k := 0; k < 3; k++ {
		second = math.Max(second, pushScore(t, st, i, 5))
		i++
	}
	if first < 4 || second >= 4 {
		t.Fatalf("first excursion scored %v (want >= warn 4), the repeat %v (want < 4)", first, second)
	}
}

func TestNoveltyValidate(t *testing.T) {
	m := artifacttest.Anomaly([]string{"v"}, 2)
	m.Novelty = &artifact.Novelty{Window: 10, Ratio: 1}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "novelty") {
		t.Fatalf("novelty without likelihood: %v", err)
	}
	m.Likelihood = &artifact.Likelihood{Short: 1, Long: 50, MinStd: 0.1}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	m.Novelty.Ratio = 0
	if err := m.Validate(); err == nil {
		t.Fatal("ratio 0 accepted")
	}
}

// Level.Weight scales the level score: weight 0.5 halves it.
func TestLevelWeight(t *testing.T) {
	peak := func(w float64) float64 {
		st := levelModel(t, 0)
		st.s.M.Level.Weight = w
		p := 0.0
		for i := 0; i < 200; i++ {
			v := 0.0
			if i == 150 {
				v = 10
			}
			p = math.Max(p, pushScore(t, st, i, v))
		}
		return p
	}
	one, half := peak(0), peak(0.5)
	if one < 1 || math.Abs(half-one/2) > 1e-9 {
		t.Fatalf("peak %v unweighted, %v with weight 0.5: want half", one, half)
	}
}
