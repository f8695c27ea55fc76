package features

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Hand-computed: alpha 0.5 over 2, 4, NaN, 0 gives 2, 3, 3 (missing holds), 1.5; alpha
// 1 follows the last finite value. A sensor missing from the start reads 0 until its
// first finite value, which then seeds the mean.
func TestHistoryArithmetic(t *testing.T) {
	h, err := NewHistory([]float64{0.5, 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	rows := [][]float64{{2, nan}, {4, nan}, {nan, 7}, {0, 9}}
	want := [][]float64{{2, 2, 0, 0}, {3, 4, 0, 0}, {3, 4, 7, 7}, {1.5, 0, 8, 9}}
	dst := make([]float64, h.Len())
	for i, r := range rows {
		if err := h.Push(r, dst); err != nil {
			t.Fatal(err)
		}
		for k := range dst {
			if dst[k] != want[i][k] {
				t.Fatalf("row %d: got %v, want %v", i, dst, want[i])
			}
		}
	}
	h.Reset()
	_ = h.Push([]float64{10, 20}, dst)
	if dst[0] != 10 || dst[3] != 20 {
		t.Fatalf("after Reset got %v, want the first row as seed", dst)
	}
	if err := h.Push([]float64{1}, dst); err == nil {
		t.Fatal("short row accepted")
	}
}

// Batch and streaming must agree bit for bit: the trainer uses the batch values, the
// daemon the streaming ones.
func TestHistoryBatchEqualsStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rows := make([][]float64, 300)
	for i := range rows {
		rows[i] = []float64{rng.NormFloat64(), 100 + 3*rng.NormFloat64(), float64(i)}
		if rng.IntN(10) == 0 {
			rows[i][rng.IntN(3)] = math.NaN()
		}
	}
	alphas := []float64{0.3, 0.1, 0.03}
	batch, err := HistoryBatch(alphas, rows)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := NewHistory(alphas, 3)
	dst := make([]float64, h.Len())
	for i, r := range rows {
		_ = h.Push(r, dst)
		for k, v := range dst {
			if math.Float64bits(v) != math.Float64bits(batch[i][k]) {
				t.Fatalf("row %d col %d: stream %v batch %v", i, k, v, batch[i][k])
			}
		}
	}
	if n := HistoryNames([]string{"a", "b", "c"}, alphas); len(n) != 9 || n[4] != "b.hewma1" {
		t.Fatalf("names %v", n)
	}
}

func TestHistoryValidate(t *testing.T) {
	for _, a := range [][]float64{nil, {0}, {1.5}, {math.NaN()}, make([]float64, MaxHistoryAlphas+1)} {
		if err := ValidateHistory(a); err == nil {
			t.Fatalf("alphas %v accepted", a)
		}
	}
	if _, err := NewHistory([]float64{0.1}, 0); err == nil {
		t.Fatal("zero sensors accepted")
	}
}
