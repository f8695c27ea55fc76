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
	b := bandOf(nil, nil, nil, 0.8)
	if b != nil {
		t.Fatal("a band from predictions without truths")
	}
	p, a := draw(3000)
	b = bandOf(p, a, nil, 0.8)
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
	if b := bandOf(p, a, nil, 0.8); len(b.Lo) != 1 || len(b.Edges) != 0 {
		t.Fatalf("150 residuals gave %d bins", len(b.Lo))
	}
}

// Held-out assets of very different lengths: long-lived ones with small errors and
// short-lived ones with large errors. A new asset scored at some moment of its life
// is as likely to be either kind, so the band weighted by asset (evalRUL's weights)
// holds about 80% of fresh (asset, moment) draws; counted by window, the long assets'
// small residuals dominate and the band is far too narrow.
func TestBandOfWeightsAssetsEqually(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	// asset k: long (400 windows, error sd 2) when k is even, short (50, sd 20) when odd.
	kind := func(k int) (n int, sd float64) {
		if k%2 == 0 {
			return 400, 2
		}
		return 50, 20
	}
	var pred, actual, weight []float64
	for k := range 40 {
		n, sd := kind(k)
		for range n {
			p := 125 * rng.Float64()
			pred, actual, weight = append(pred, p), append(actual, p+sd*rng.NormFloat64()), append(weight, 1/float64(n))
		}
	}
	var fp, fa []float64
	for k := range 4000 {
		_, sd := kind(k)
		p := 125 * rng.Float64()
		fp, fa = append(fp, p), append(fa, p+sd*rng.NormFloat64())
	}
	byAsset := &artifact.Model{Modes: artifact.Modes{Band: bandOf(pred, actual, weight, 0.8)}, RULCap: 1000}
	byWindow := &artifact.Model{Modes: artifact.Modes{Band: bandOf(pred, actual, nil, 0.8)}, RULCap: 1000}
	if n := len(byAsset.Band.Lo); n != 5 {
		t.Fatalf("40 assets gave %d bins, want 5 (at least %d assets a bin)", n, bandMinAssetsPerBin)
	}
	covA, _ := bandFit(byAsset, fp, fa)
	covW, _ := bandFit(byWindow, fp, fa)
	if math.Abs(covA-0.8) > 0.04 {
		t.Fatalf("band weighted by asset holds %.3f of fresh assets, want 0.80", covA)
	}
	if covW > 0.7 {
		t.Fatalf("band by window holds %.3f: the test no longer shows the difference", covW)
	}
	// Few assets: fewer, better-filled bins.
	if b := bandOf(pred[:900], actual[:900], weight[:900], 0.8); len(b.Lo) != 1 {
		t.Fatalf("%.0f assets gave %d bins", sum(weight[:900]), len(b.Lo))
	}
}

func sum(v []float64) (s float64) {
	for _, x := range v {
		s += x
	}
	return s
}
