package artifact_test

import (
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
)

// The band holds its prediction, never goes below 0 or above the cap, and picks the
// bin by the prediction.
func TestRULBandBounds(t *testing.T) {
	b := &artifact.RULBand{Coverage: 0.8, Edges: []float64{50}, Lo: []float64{-5, -20}, Hi: []float64{5, 15}}
	for _, tc := range []struct{ p, lo, hi float64 }{
		{2, 0, 7}, {40, 35, 45}, {50, 45, 55}, {80, 60, 95}, {120, 100, 125},
	} {
		lo, hi := b.Bounds(tc.p, 125)
		if lo != tc.lo || hi != tc.hi {
			t.Errorf("p %v: band %v..%v, want %v..%v", tc.p, lo, hi, tc.lo, tc.hi)
		}
	}
	// Bounds that exclude the prediction are widened to hold it.
	odd := &artifact.RULBand{Coverage: 0.8, Lo: []float64{2}, Hi: []float64{8}}
	if lo, hi := odd.Bounds(50, 125); lo != 50 || hi != 58 {
		t.Errorf("band %v..%v, want 50..58", lo, hi)
	}
}

// A model file with a malformed band or padding is refused at load.
func TestRULBandValidated(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*artifact.Model)
		want string
	}{
		{"lo over hi", func(m *artifact.Model) { m.Band.Lo[0] = 20 }, "lo 20 above hi"},
		{"coverage", func(m *artifact.Model) { m.Band.Coverage = 1 }, "coverage 1 not in (0,1)"},
		{"edges", func(m *artifact.Model) {
			m.Band.Edges = []float64{60, 40}
			m.Band.Lo, m.Band.Hi = []float64{-1, -1, -1}, []float64{1, 1, 1}
		}, "increasing"},
		{"lengths", func(m *artifact.Model) { m.Band.Edges = []float64{50} }, "want n >= 1 of each bound and n-1 edges"},
		{"anomaly", func(m *artifact.Model) { *m = *artifacttest.Anomaly([]string{"a", "b"}, 5); m.PadShort = true }, "pad_short needs a rul model"},
		{"stride", func(m *artifact.Model) { m.Spec.Stride = 2 }, "pad_short needs a rul model with stride 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := artifacttest.RUL([]string{"a", "b"}, 5, 40, -10, 10)
			if err := m.Validate(); err != nil {
				t.Fatalf("the valid model is refused: %v", err)
			}
			tc.edit(m)
			if err := m.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
