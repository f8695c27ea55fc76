package scoring

import (
	"math"
	"testing"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
)

// Hand-computed: ranges [10, 20] and [0, 100], allowance 0.1, warn 3. A latest value
// 1 above the first range is one allowance (1) out: score = warn x 1 = 3. A value 20
// below the second range is two allowances (10 each) out: 6, and it takes the blame.
// A range narrower than the target's residual scale is widened to it.
func TestEnvelopeArithmetic(t *testing.T) {
	m := &artifact.Model{
		Targets: []string{"a", "b"},
		Modes:   artifact.Modes{Envelope: &artifact.Envelope{Min: []float64{10, 0}, Max: []float64{20, 100}, Allowance: 0.1}},
		Alert:   alerting.Config{Levels: alerting.Levels{Warn: 3}},
		// Smaller than both ranges: no effect on the cases below.
		ResidualScale: []float64{0.5, 0.5},
	}
	st := &Stream{s: &Scorer{M: m, lastIdx: []int{0, 1}}, feat: make([]float64, 2)}
	for _, tc := range []struct {
		name        string
		a, b, score float64
		wantScore   float64
		wantShares  []float64
	}{
		{"inside: untouched", 15, 50, 0.5, 0.5, []float64{0.2, 0.8}},
		{"on the edge: untouched", 20, 0, 0.5, 0.5, []float64{0.2, 0.8}},
		{"a one allowance above", 21, 50, 0.5, 3, []float64{1, 0}},
		{"b two allowances below wins", 21, -20, 0.5, 6, []float64{0, 1}},
		{"score already higher: untouched", 21, 50, 7, 7, []float64{0.2, 0.8}},
		{"NaN latest value: ignored", math.NaN(), 50, 0.5, 0.5, []float64{0.2, 0.8}},
	} {
		st.feat[0], st.feat[1] = tc.a, tc.b
		r := &Result{Score: tc.score, Shares: []float64{0.2, 0.8}}
		envelopeStage{}.apply(st, r)
		if math.Abs(r.Score-tc.wantScore) > 1e-12 || r.Shares[0] != tc.wantShares[0] || r.Shares[1] != tc.wantShares[1] {
			t.Errorf("%s: score %v shares %v, want %v %v", tc.name, r.Score, r.Shares, tc.wantScore, tc.wantShares)
		}
	}
}

// A target whose healthy latest values never moved (Min = Max = 5) gets the residual
// scale (2) as its width: allowance 0.1 x 2 = 0.2, so 5.4 is two allowances out and
// scores 2 x warn, not the 4e8 x warn an absolute floor of 1e-9 would give.
func TestEnvelopeDegenerateRange(t *testing.T) {
	m := &artifact.Model{
		Targets:       []string{"a"},
		Modes:         artifact.Modes{Envelope: &artifact.Envelope{Min: []float64{5}, Max: []float64{5}, Allowance: 0.1}},
		Alert:         alerting.Config{Levels: alerting.Levels{Warn: 3}},
		ResidualScale: []float64{2},
	}
	st := &Stream{s: &Scorer{M: m, lastIdx: []int{0}}, feat: []float64{5.4}}
	r := &Result{Score: 0.1, Shares: []float64{1}}
	envelopeStage{}.apply(st, r)
	if math.Abs(r.Score-6) > 1e-9 {
		t.Fatalf("score %v, want 6", r.Score)
	}
}
