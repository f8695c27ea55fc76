package features

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// threeRegimes mimics C-MAPSS operating conditions: settings in very
// different units (altitude ft, Mach, throttle %), sensor levels that
// depend strongly on the regime plus a small wear trend and noise.
func threeRegimes(seed uint64, n int) (settings, sensors [][]float64, truth []int) {
	rng := rand.New(rand.NewPCG(seed, 0))
	conds := [][]float64{{0, 0, 100}, {20000, 0.7, 100}, {42000, 0.84, 60}}
	levels := [][]float64{{518, 642, 1400}, {462, 536, 1100}, {445, 549, 1050}}
	for i := range n {
		r := rng.IntN(3)
		s := make([]float64, 3)
		for j, c := range conds[r] {
			s[j] = c + rng.NormFloat64()*0.001*math.Max(1, c)
		}
		x := make([]float64, 3)
		for j, l := range levels[r] {
			x[j] = l + 0.001*float64(i) + rng.NormFloat64()*(1+float64(j))
		}
		settings, sensors, truth = append(settings, s), append(sensors, x), append(truth, r)
	}
	return settings, sensors, truth
}

func TestRegimeKMeansFindsRegimes(t *testing.T) {
	settings, sensors, truth := threeRegimes(1, 3000)
	m, err := FitRegimes(settings, sensors, RegimeConfig{Seed: 7, KMax: 6})
	if err != nil {
		t.Fatal(err)
	}
	if m.NumRegimes() != 3 {
		t.Fatalf("silhouette chose %d regimes, want 3", m.NumRegimes())
	}
	// Purity: every true regime maps to exactly one fitted id.
	mapping := map[int]int{}
	for i, s := range settings {
		id := m.Assign(s)
		if prev, ok := mapping[truth[i]]; ok && prev != id {
			t.Fatalf("true regime %d split over ids %d and %d", truth[i], prev, id)
		}
		mapping[truth[i]] = id
	}
	// Centroids are sorted, so the lowest altitude is regime 0.
	if mapping[0] != 0 || mapping[2] != 2 {
		t.Errorf("ids not ordered by settings: %v", mapping)
	}
	checkNormalizedMoments(t, m, settings, sensors)

	again, _ := FitRegimes(settings, sensors, RegimeConfig{Seed: 7, KMax: 6})
	a, _ := json.Marshal(m)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Fatal("same seed gave a different model")
	}
}

// After per-regime normalisation each regime's sensors have mean 0 and
// std 1 on the fitting data (exact up to summation rounding: 1e-9).
func checkNormalizedMoments(t *testing.T, m *RegimeModel, settings, sensors [][]float64) {
	t.Helper()
	k, d := m.NumRegimes(), len(sensors[0])
	sum, sq, cnt := make([][]float64, k), make([][]float64, k), make([]float64, k)
	for r := range k {
		sum[r], sq[r] = make([]float64, d), make([]float64, d)
	}
	z := make([]float64, d)
	for i, x := range sensors {
		r := m.Assign(settings[i])
		if err := m.Normalize(r, x, z); err != nil {
			t.Fatal(err)
		}
		cnt[r]++
		for j, v := range z {
			sum[r][j] += v
			sq[r][j] += v * v
		}
	}
	for r := range k {
		for j := range d {
			mean := sum[r][j] / cnt[r]
			std := math.Sqrt(sq[r][j]/cnt[r] - mean*mean)
			if math.Abs(mean) > 1e-9 || math.Abs(std-1) > 1e-9 {
				t.Errorf("regime %d sensor %d: mean %g std %g, want 0, 1", r, j, mean, std)
			}
		}
	}
}

func TestRegimeFixedKAndSingle(t *testing.T) {
	settings, sensors, _ := threeRegimes(2, 600)
	m, err := FitRegimes(settings, sensors, RegimeConfig{K: 3, Seed: 1})
	if err != nil || m.NumRegimes() != 3 {
		t.Fatalf("K=3: %v, %d regimes", err, m.NumRegimes())
	}
	// One operating condition: no structure, auto selection keeps one regime.
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range settings {
		settings[i] = []float64{rng.NormFloat64(), rng.NormFloat64()}
	}
	m, err = FitRegimes(settings, sensors, RegimeConfig{Seed: 1})
	if err != nil || m.NumRegimes() != 1 {
		t.Fatalf("unstructured settings: %v, %d regimes, want 1", err, m.NumRegimes())
	}
}

func TestRegimeLabeledAndFallback(t *testing.T) {
	settings, sensors, truth := threeRegimes(4, 900)
	ids := append([]int(nil), truth...)
	// Leave regime 2 with only 5 rows: it must fall back to global stats.
	n2 := 0
	for i, id := range ids {
		if id == 2 {
			if n2++; n2 > 5 {
				ids[i] = -1
			}
		}
	}
	m, err := FitRegimesLabeled(settings, ids, sensors, 30)
	if err != nil {
		t.Fatal(err)
	}
	if m.Count[2] != 5 {
		t.Fatalf("count[2] = %d, want 5", m.Count[2])
	}
	for j := range m.GlobalMean {
		if m.Mean[2][j] != m.GlobalMean[j] || m.Std[2][j] != m.GlobalStd[j] {
			t.Fatalf("regime 2 should use global stats")
		}
	}
	if m.Assign(settings[0]) != truth[0] {
		t.Errorf("Assign from labeled centroids = %d, want %d", m.Assign(settings[0]), truth[0])
	}
	if m.Assign([]float64{math.NaN(), 0, 0}) != -1 || m.Assign([]float64{1}) != -1 {
		t.Error("missing or short settings should give -1")
	}
	noSettings, _ := FitRegimesLabeled(nil, ids, sensors, 30)
	if noSettings.Assign(settings[0]) != -1 {
		t.Error("model without centroids should give -1")
	}
}

func TestRegimeNormalizeEdgeCases(t *testing.T) {
	settings, sensors, _ := threeRegimes(5, 300)
	m, _ := FitRegimes(settings, sensors, RegimeConfig{K: 3, Seed: 1})
	dst := make([]float64, 3)
	if err := m.Normalize(-1, []float64{m.GlobalMean[0], math.NaN(), 0}, dst); err != nil {
		t.Fatal(err)
	}
	if dst[0] != 0 || !math.IsNaN(dst[1]) {
		t.Errorf("global normalize: %v (want 0, NaN kept, ...)", dst)
	}
	if err := m.Normalize(3, sensors[0], dst); err == nil {
		t.Error("regime out of range: want error")
	}
	if err := m.Normalize(0, sensors[0][:2], dst); err == nil {
		t.Error("short row: want error")
	}
	if err := m.CheckSensors(DefaultSpec([]string{"a", "b", "c"}, 4)); err != nil {
		t.Error(err)
	}
	if _, err := FitRegimes(settings[:2], sensors, RegimeConfig{}); err == nil {
		t.Error("length mismatch: want error")
	}
}

func TestRegimeJSON(t *testing.T) {
	settings, sensors, _ := threeRegimes(6, 300)
	m, _ := FitRegimes(settings, sensors, RegimeConfig{K: 3, Seed: 1})
	b, _ := json.Marshal(m)
	var got RegimeModel
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if b2, _ := json.Marshal(&got); string(b2) != string(b) {
		t.Fatal("round trip changed the model")
	}
	bad := map[string]string{
		"version":     strings.Replace(string(b), `"version":1`, `"version":9`, 1),
		"unknown key": strings.Replace(string(b), `"version":1`, `"version":1,"k":3`, 1),
		"zero std":    strings.Replace(string(b), `"global_std":[`, `"global_std":[0,`, 1),
		"empty":       `{"version":1}`,
	}
	for name, js := range bad {
		var r RegimeModel
		if err := json.Unmarshal([]byte(js), &r); err == nil {
			t.Errorf("%s: want decode error", name)
		}
	}
}
