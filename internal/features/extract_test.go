package features

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// richSpec uses every feature, lags and two spectral sensors.
func richSpec(nSensors, window, stride int) Spec {
	names := make([]string, nSensors)
	for i := range names {
		names[i] = fmt.Sprintf("s%d", i)
	}
	s := DefaultSpec(names, window)
	s.Stride = stride
	s.Features = slices.Clone(knownFeatures)
	s.Lags = []int{1, 5}
	s.Spectral = Spectral{Sensors: slices.Compact([]string{"s0", names[nSensors-1]}), Bands: min(4, window/2)}
	s.MaxFill = 2
	s.MaxMissingFrac = 0.1
	return s
}

// randomSeries has trends, noise, isolated NaNs, ±Inf and occasional
// long outages, so every missing-data branch is exercised.
func randomSeries(rng *rand.Rand, n, nS int, missRate float64) [][]float64 {
	rows := make([][]float64, n)
	outage := make([]int, nS)
	for t := range rows {
		r := make([]float64, nS)
		for s := range r {
			r[s] = float64(s+1)*math.Sin(float64(t)/(7+float64(s))) + 0.01*float64(t) + rng.NormFloat64()
			if outage[s] > 0 {
				outage[s]--
				r[s] = math.NaN()
				continue
			}
			switch u := rng.Float64(); {
			case u < missRate/20:
				outage[s] = rng.IntN(8)
				r[s] = math.NaN()
			case u < missRate*0.9:
				r[s] = math.NaN()
			case u < missRate:
				r[s] = math.Inf(1 - 2*rng.IntN(2))
			}
		}
		rows[t] = r
	}
	return rows
}

// streamAll feeds rows to a fresh extractor and collects what it emits.
func streamAll(t testing.TB, spec Spec, rows [][]float64) ([][]float64, []int, Stats) {
	e, err := NewExtractor(spec)
	if err != nil {
		t.Fatal(err)
	}
	var X [][]float64
	var ends []int
	dst := make([]float64, e.NumFeatures())
	for i, r := range rows {
		ready, err := e.Push(r, dst)
		if err != nil {
			t.Fatal(err)
		}
		if ready {
			X = append(X, slices.Clone(dst))
			ends = append(ends, i)
		}
	}
	return X, ends, e.Stats()
}

func requireBitIdentical(t *testing.T, Xb, Xs [][]float64, eb, es []int, sb, ss Stats) {
	t.Helper()
	if sb != ss {
		t.Fatalf("stats differ:\nbatch  %+v\nstream %+v", sb, ss)
	}
	if !slices.Equal(eb, es) {
		t.Fatalf("window ends differ: batch %d windows, stream %d", len(eb), len(es))
	}
	for i := range Xb {
		for j := range Xb[i] {
			if math.Float64bits(Xb[i][j]) != math.Float64bits(Xs[i][j]) {
				t.Fatalf("window %d feature %d: batch %v stream %v", i, j, Xb[i][j], Xs[i][j])
			}
		}
	}
}

// The central guarantee: a model trained on batch features sees the same
// numbers online. Compared bit for bit, not with a tolerance.
func TestBatchEqualsStreaming(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	for _, tc := range []struct {
		nS, window, stride int
		miss               float64
	}{{8, 32, 1, 0.02}, {3, 16, 5, 0.05}, {5, 33, 32, 0.01}, {2, 4, 1, 0.2}} {
		t.Run(fmt.Sprintf("S%dW%dstride%d", tc.nS, tc.window, tc.stride), func(t *testing.T) {
			spec := richSpec(tc.nS, tc.window, tc.stride)
			if tc.window < 6 {
				spec.Lags = []int{1}
			}
			rows := randomSeries(rng, 5000, tc.nS, tc.miss)
			Xb, eb, sb, err := ExtractBatch(spec, rows)
			if err != nil {
				t.Fatal(err)
			}
			Xs, es, ss := streamAll(t, spec, rows)
			requireBitIdentical(t, Xb, Xs, eb, es, sb, ss)
			if sb.Emitted == 0 || sb.Skipped() == 0 {
				t.Errorf("test series should both emit and skip windows: %+v", sb)
			}
		})
	}
}

func TestResetReplays(t *testing.T) {
	spec := richSpec(3, 16, 2)
	rows := randomSeries(rand.New(rand.NewPCG(3, 3)), 500, 3, 0.05)
	e, _ := NewExtractor(spec)
	a, b := make([]float64, e.NumFeatures()), make([]float64, e.NumFeatures())
	var first [][]float64
	for _, r := range rows {
		if ok, _ := e.Push(r, a); ok {
			first = append(first, slices.Clone(a))
		}
	}
	stats := e.Stats()
	e.Reset()
	n := 0
	for _, r := range rows {
		if ok, _ := e.Push(r, b); ok {
			if !slices.Equal(first[n], b) {
				t.Fatalf("window %d differs after Reset", n)
			}
			n++
		}
	}
	if n != len(first) || e.Stats() != stats {
		t.Fatalf("after Reset: %d windows (want %d), stats %+v (want %+v)", n, len(first), e.Stats(), stats)
	}
}

func TestMissingDataRules(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name      string
		maxFill   int
		frac      float64
		series    []float64
		wantEnds  []int
		wantMeans []float64 // hand computed from the filled windows
		want      Stats
	}{{
		name: "single gap filled", maxFill: 1, frac: 0.25,
		series:   []float64{1, nan, 3, 4, 5},
		wantEnds: []int{3, 4}, wantMeans: []float64{(1 + 1 + 3 + 4) / 4.0, (1 + 3 + 4 + 5) / 4.0},
		want: Stats{Samples: 5, MissingCells: 1, FilledCells: 1, Windows: 2, Emitted: 2},
	}, {
		name: "gap longer than MaxFill skips every window holding it", maxFill: 1, frac: 1,
		series:   []float64{1, nan, nan, 4, 5, 6, 7},
		wantEnds: []int{6}, wantMeans: []float64{5.5},
		want: Stats{Samples: 7, MissingCells: 2, FilledCells: 1, Windows: 4, Emitted: 1, SkippedGap: 3},
	}, {
		name: "nothing to fill from", maxFill: 5, frac: 1,
		series:   []float64{nan, 1, 2, 3, 4},
		wantEnds: []int{4}, wantMeans: []float64{2.5},
		want: Stats{Samples: 5, MissingCells: 1, Windows: 2, Emitted: 1, SkippedGap: 1},
	}, {
		name: "too many filled values", maxFill: 2, frac: 0.25,
		series:   []float64{1, nan, nan, 4, 5, 6},
		wantEnds: []int{5}, wantMeans: []float64{4},
		want: Stats{Samples: 6, MissingCells: 2, FilledCells: 2, Windows: 3, Emitted: 1, SkippedMissing: 2},
	}, {
		// The last window is [fill, 2, 3, 4]: its first value is filled from
		// the sample just before the window.
		name: "fill reaches back before the window", maxFill: 1, frac: 0.25,
		series:   []float64{0, 1, nan, 2, 3, 4},
		wantEnds: []int{3, 4, 5}, wantMeans: []float64{(0 + 1 + 1 + 2) / 4.0, (1 + 1 + 2 + 3) / 4.0, (1 + 2 + 3 + 4) / 4.0},
		want: Stats{Samples: 6, MissingCells: 1, FilledCells: 1, Windows: 3, Emitted: 3},
	}, {
		name: "Inf is missing", maxFill: 1, frac: 0.25,
		series:   []float64{1, 2, -inf, 4},
		wantEnds: []int{3}, wantMeans: []float64{(1 + 2 + 2 + 4) / 4.0},
		want: Stats{Samples: 4, MissingCells: 1, FilledCells: 1, Windows: 1, Emitted: 1},
	}, {
		name: "MaxFill 0 disables filling", maxFill: 0, frac: 1,
		series:   []float64{1, 2, 3, 4, nan},
		wantEnds: []int{3}, wantMeans: []float64{2.5},
		want: Stats{Samples: 5, MissingCells: 1, Windows: 2, Emitted: 1, SkippedGap: 1},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := DefaultSpec([]string{"x"}, 4)
			spec.Features = []string{FeatMean}
			spec.MaxFill, spec.MaxMissingFrac = tc.maxFill, tc.frac
			rows := make([][]float64, len(tc.series))
			for i, v := range tc.series {
				rows[i] = []float64{v}
			}
			X, ends, stats, err := ExtractBatch(spec, rows)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ends, tc.wantEnds) || stats != tc.want {
				t.Fatalf("ends %v stats %+v\nwant %v %+v", ends, stats, tc.wantEnds, tc.want)
			}
			for i, want := range tc.wantMeans {
				if X[i][0] != want { // sums of small integers: exact
					t.Errorf("window %d mean %v, want %v", i, X[i][0], want)
				}
			}
			Xs, es, ss := streamAll(t, spec, rows)
			requireBitIdentical(t, X, Xs, ends, es, stats, ss)
		})
	}
}

func TestLastSkip(t *testing.T) {
	spec := DefaultSpec([]string{"x"}, 2)
	spec.MaxFill = 0
	e, _ := NewExtractor(spec)
	dst := make([]float64, e.NumFeatures())
	e.Push([]float64{1}, dst)
	if ok, _ := e.Push([]float64{math.NaN()}, dst); ok || e.LastSkip() != SkipGap {
		t.Fatalf("ready=%v LastSkip=%v, want false, gap", ok, e.LastSkip())
	}
	if ok, _ := e.Push([]float64{2}, dst); ok || e.LastSkip().String() != "gap" {
		t.Fatalf("window still holds the unfilled sample: ready=%v skip=%v", ok, e.LastSkip())
	}
}

// Property: whatever the NaN mask, nothing non-finite comes out, every
// completed window is accounted for, and batch equals streaming.
func TestNoNaNOutProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(99, 1))
	for trial := range 60 {
		nS, window := 1+rng.IntN(4), 2+rng.IntN(20)
		spec := richSpec(nS, window, 1+rng.IntN(4))
		spec.Lags = []int{1 + rng.IntN(window-1)}
		spec.Spectral.Bands = 1 + rng.IntN(window/2)
		spec.MaxFill, spec.MaxMissingFrac = rng.IntN(4), rng.Float64()
		rows := randomSeries(rng, 200+rng.IntN(300), nS, rng.Float64()*0.6)
		if trial%10 == 0 { // huge values: overflow must be skipped, not emitted
			rows[len(rows)/2][0] = math.MaxFloat64
		}
		X, ends, st, err := ExtractBatch(spec, rows)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range X {
			if !allFinite(x) {
				t.Fatalf("trial %d window %d: non-finite output %v", trial, i, x)
			}
		}
		nWin := max(0, (len(rows)-window)/spec.Stride+1)
		if st.Windows != nWin || st.Emitted != len(X) || st.Emitted+st.Skipped() != nWin {
			t.Fatalf("trial %d: stats %+v do not add up to %d windows / %d emitted", trial, st, nWin, len(X))
		}
		Xs, es, ss := streamAll(t, spec, rows)
		requireBitIdentical(t, X, Xs, ends, es, st, ss)
	}
}

func TestExtractErrors(t *testing.T) {
	spec := DefaultSpec([]string{"a", "b"}, 4)
	if _, _, _, err := ExtractBatch(spec, [][]float64{{1, 2}, {1}}); err == nil {
		t.Error("ragged rows: want error")
	}
	if _, _, _, err := ExtractBatch(Spec{}, nil); err == nil {
		t.Error("invalid spec: want error")
	}
	e, _ := NewExtractor(spec)
	if _, err := e.Push([]float64{1}, make([]float64, e.NumFeatures())); err == nil {
		t.Error("short row: want error")
	}
	if _, err := e.Push([]float64{1, 2}, nil); err == nil {
		t.Error("short dst: want error")
	}
	if e.Stats().Samples != 0 {
		t.Error("rejected rows must not be consumed")
	}
}

func TestInputsNotMutated(t *testing.T) {
	spec := richSpec(3, 8, 1)
	rows := randomSeries(rand.New(rand.NewPCG(5, 5)), 100, 3, 0.2)
	before := make([][]float64, len(rows))
	for i, r := range rows {
		before[i] = slices.Clone(r)
	}
	ExtractBatch(spec, rows)
	streamAll(t, spec, rows)
	for i := range rows {
		for j := range rows[i] {
			if math.Float64bits(rows[i][j]) != math.Float64bits(before[i][j]) {
				t.Fatalf("row %d modified", i)
			}
		}
	}
}

func TestPushZeroAllocs(t *testing.T) {
	spec := richSpec(8, 32, 1)
	e, _ := NewExtractor(spec)
	rows := randomSeries(rand.New(rand.NewPCG(8, 8)), 256, 8, 0.05)
	dst := make([]float64, e.NumFeatures())
	for _, r := range rows[:64] {
		e.Push(r, dst)
	}
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		e.Push(rows[i%len(rows)], dst)
		i++
	})
	if allocs != 0 {
		t.Fatalf("Push allocates %v times per call, want 0", allocs)
	}
}

func benchRows(n, nS int) [][]float64 {
	return randomSeries(rand.New(rand.NewPCG(1, 1)), n, nS, 0.01)
}

// ns/op is ns per sample: one Push per op.
func BenchmarkPush(b *testing.B) {
	for _, tc := range []struct {
		name     string
		stride   int
		spectral bool
	}{{"S8W32stride1", 1, false}, {"S8W32stride1_spectral2", 1, true}, {"S8W32stride8_spectral2", 8, true}} {
		b.Run(tc.name, func(b *testing.B) {
			spec := richSpec(8, 32, tc.stride)
			if !tc.spectral {
				spec.Spectral = Spectral{}
			}
			e, _ := NewExtractor(spec)
			rows := benchRows(4096, 8)
			dst := make([]float64, e.NumFeatures())
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				e.Push(rows[i&4095], dst)
				i++
			}
		})
	}
}

func BenchmarkExtractBatch(b *testing.B) {
	spec := richSpec(8, 32, 1)
	rows := benchRows(10000, 8)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := ExtractBatch(spec, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/sample")
}

func TestMissingSamples(t *testing.T) {
	for _, c := range []struct {
		dt, period float64
		want       int
	}{{60, 60, 0}, {59, 60, 0}, {120, 60, 1}, {149, 60, 1}, {150, 60, 2}, {300, 60, 4}, {1, 1, 0}, {10, 1, 9}} {
		if got := MissingSamples(c.dt, c.period); got != c.want {
			t.Errorf("MissingSamples(%v, %v) = %d, want %d", c.dt, c.period, got, c.want)
		}
	}
}
