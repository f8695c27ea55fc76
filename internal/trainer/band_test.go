package trainer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
)

// On residuals of a known law whose spread grows with the predicted RUL, the band fit
// on one sample holds about 80% of fresh truths overall and in each part of the range,
// and is narrow where the errors are small.
func TestBandOfCoversStatedShare(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	draw := func(n int) (pred, actual []float64) {
		for range n {
			p := 125 * rng.Float64()
			pred, actual = append(pred, p), append(actual, p+(2+0.15*p)*rng.NormFloat64())
		}
		return pred, actual
	}
	b := bandOf(nil, nil, 0.8)
	if b != nil {
		t.Fatal("a band from predictions without truths")
	}
	p, a := draw(3000)
	b = bandOf(p, a, 0.8)
	if len(b.Lo) != bandBins || len(b.Edges) != bandBins-1 {
		t.Fatalf("%d bins, %d edges", len(b.Lo), len(b.Edges))
	}
	m := &artifact.Model{Modes: artifact.Modes{Band: b}, RULCap: 1000}
	fp, fa := draw(20000)
	cov, width := bandFit(m, fp, fa)
	if math.Abs(cov-0.8) > 0.03 {
		t.Fatalf("fresh coverage %.3f, want 0.80", cov)
	}
	// Normal errors: the 80% band is 2 x 1.2816 sd wide on average.
	var want float64
	for _, x := range fp {
		want += 2 * 1.2816 * (2 + 0.15*x)
	}
	if want /= float64(len(fp)); math.Abs(width-want) > 0.15*want {
		t.Fatalf("mean width %.1f, a normal band's %.1f", width, want)
	}
	if b.Hi[0]-b.Lo[0] >= b.Hi[bandBins-1]-b.Lo[bandBins-1] {
		t.Fatalf("band not narrower where errors are small: %v / %v", b.Lo, b.Hi)
	}
	// Few residuals: one bin.
	p, a = draw(150)
	if b := bandOf(p, a, 0.8); len(b.Lo) != 1 || len(b.Edges) != 0 {
		t.Fatalf("150 residuals gave %d bins", len(b.Lo))
	}
}
