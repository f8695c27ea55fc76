package features

import (
	"errors"
	"fmt"
	"math"
)

// RegimeVersion is the serialised format version of RegimeModel.
const RegimeVersion = 1

// weakSilhouette: automatic selection keeps a single regime unless some
// K reaches this mean silhouette, Kaufman & Rousseeuw's lower bound for
// "reasonable structure". A lower bar is cleared by k-means cutting one
// Gaussian blob into pieces (silhouette ~0.35); genuine operating regimes
// such as C-MAPSS's six score above 0.9.
const weakSilhouette = 0.5

// RegimeConfig controls FitRegimes. Zero values pick the defaults noted.
type RegimeConfig struct {
	K        int    // fixed number of regimes; 0 = best silhouette in [2,KMax], or 1 if none reaches 0.5
	KMax     int    // upper bound for automatic K (default 8)
	Seed     uint64 // seeds the PCG used by k-means++ (results are deterministic)
	Restarts int    // k-means++ seedings, best inertia kept (default 4)
	MaxIter  int    // Lloyd iterations per seeding (default 100)
	MinCount int    // fewer samples in a regime => global stats (default 30)
}

func (c RegimeConfig) withDefaults() RegimeConfig {
	c.KMax = cmpOr(c.KMax, 8)
	c.Restarts = cmpOr(c.Restarts, 4)
	c.MaxIter = cmpOr(c.MaxIter, 100)
	c.MinCount = cmpOr(c.MinCount, 30)
	return c
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// RegimeModel removes operating-regime effects from sensor rows: each
// sensor is z-scored with the mean/std of the regime the machine is in,
// so a change of load or altitude is not mistaken for wear.
//
// Settings are standardised (SettingCenter/SettingScale) before distances
// are taken, because raw settings mix units (feet, Mach, percent).
type RegimeModel struct {
	Version       int         `json:"version"`
	SettingCenter []float64   `json:"setting_center"`
	SettingScale  []float64   `json:"setting_scale"`
	Centroids     [][]float64 `json:"centroids"` // standardised setting space; empty if fitted from ids without settings
	Count         []int       `json:"count"`     // fitting rows per regime
	Mean          [][]float64 `json:"mean"`      // per regime, per sensor (global values where too few samples)
	Std           [][]float64 `json:"std"`
	GlobalMean    []float64   `json:"global_mean"`
	GlobalStd     []float64   `json:"global_std"`
	MinCount      int         `json:"min_count"`
}

// FitRegimes clusters the setting rows with k-means and fits per-regime
// sensor statistics. settings[i] and sensors[i] describe the same time
// step; rows with a non-finite setting are ignored, NaN sensor values are
// ignored per column. Inputs are not modified.
func FitRegimes(settings, sensors [][]float64, cfg RegimeConfig) (*RegimeModel, error) {
	cfg = cfg.withDefaults()
	if err := checkRegimeInput(settings, sensors); err != nil {
		return nil, err
	}
	center, scale, pts, keep := standardiseSettings(settings)
	if cfg.K > len(pts) || len(pts) == 0 {
		return nil, fmt.Errorf("regime: %d usable rows, need at least K=%d", len(pts), max(cfg.K, 1))
	}
	res := chooseK(pts, cfg)
	ids := make([]int, len(settings))
	for i := range ids {
		ids[i] = -1
	}
	for n, i := range keep {
		ids[i] = res.labels[n]
	}
	m := fitStats(ids, sensors, len(res.centroids), cfg.MinCount)
	m.SettingCenter, m.SettingScale, m.Centroids = center, scale, res.centroids
	return m, nil
}

func chooseK(pts [][]float64, cfg RegimeConfig) kmeansResult {
	if cfg.K > 0 {
		return kmeans(pts, cfg.K, cfg.MaxIter, cfg.Restarts, cfg.Seed)
	}
	best := kmeans(pts, 1, cfg.MaxIter, 1, cfg.Seed)
	bestS := weakSilhouette
	for k := 2; k <= min(cfg.KMax, len(pts)-1); k++ {
		r := kmeans(pts, k, cfg.MaxIter, cfg.Restarts, cfg.Seed)
		if s := silhouette(pts, r.labels, k, 1000); s > bestS {
			best, bestS = r, s
		}
	}
	return best
}

// FitRegimesLabeled fits per-regime statistics from given regime ids in
// [0,k) (-1 = unknown, used for global stats only). If settings is not
// nil, centroids are the per-regime means of the standardised settings so
// Assign works on live data.
func FitRegimesLabeled(settings [][]float64, ids []int, sensors [][]float64, minCount int) (*RegimeModel, error) {
	if len(ids) != len(sensors) {
		return nil, fmt.Errorf("regime: %d ids for %d sensor rows", len(ids), len(sensors))
	}
	k := 0
	for _, id := range ids {
		k = max(k, id+1)
	}
	if k == 0 {
		return nil, errors.New("regime: no regime ids >= 0")
	}
	m := fitStats(ids, sensors, k, cmpOr(minCount, 30))
	if settings == nil {
		return m, nil
	}
	if err := checkRegimeInput(settings, sensors); err != nil {
		return nil, err
	}
	m.SettingCenter, m.SettingScale, _, _ = standardiseSettings(settings)
	m.Centroids = labeledCentroids(m, settings, ids, k)
	return m, nil
}

func labeledCentroids(m *RegimeModel, settings [][]float64, ids []int, k int) [][]float64 {
	d := len(m.SettingCenter)
	cents := make([][]float64, k)
	cnt := make([]int, k)
	z := make([]float64, d)
	for r := range cents {
		cents[r] = make([]float64, d)
	}
	for i, s := range settings {
		if ids[i] < 0 || !allFinite(s) {
			continue
		}
		m.standardise(s, z)
		cnt[ids[i]]++
		for j, v := range z {
			cents[ids[i]][j] += v
		}
	}
	for r, c := range cents {
		for j := range c {
			// An id with no setting rows gets an unreachable centroid.
			c[j] = math.MaxFloat64
			if cnt[r] > 0 {
				c[j] = cents[r][j] / float64(cnt[r])
			}
		}
	}
	return cents
}

func checkRegimeInput(settings, sensors [][]float64) error {
	if len(settings) == 0 || len(settings) != len(sensors) {
		return fmt.Errorf("regime: %d setting rows for %d sensor rows", len(settings), len(sensors))
	}
	for i := range settings {
		if len(settings[i]) != len(settings[0]) || len(sensors[i]) != len(sensors[0]) {
			return fmt.Errorf("regime: row %d has inconsistent width", i)
		}
	}
	return nil
}

// standardiseSettings z-scores the finite setting rows; keep maps each
// returned point to its input row.
func standardiseSettings(settings [][]float64) (center, scale []float64, pts [][]float64, keep []int) {
	for i, s := range settings {
		if allFinite(s) {
			keep = append(keep, i)
		}
	}
	d := len(settings[0])
	center, scale = make([]float64, d), make([]float64, d)
	col := make([]float64, len(keep))
	for j := range d {
		for n, i := range keep {
			col[n] = settings[i][j]
		}
		if len(col) > 0 {
			center[j], scale[j] = fitColumn(ZScore, col)
		} else {
			scale[j] = 1
		}
	}
	m := RegimeModel{SettingCenter: center, SettingScale: scale}
	for _, i := range keep {
		z := make([]float64, d)
		m.standardise(settings[i], z)
		pts = append(pts, z)
	}
	return center, scale, pts, keep
}

func (m *RegimeModel) standardise(s, dst []float64) {
	for j, v := range s {
		dst[j] = (v - m.SettingCenter[j]) / m.SettingScale[j]
	}
}

// NumRegimes is the number of regimes the model knows.
func (m *RegimeModel) NumRegimes() int { return len(m.Mean) }

// Assign returns the regime whose centroid is nearest to the standardised
// settings, or -1 (meaning "use global statistics") when the model has no
// centroids, the length is wrong or a setting is missing.
func (m *RegimeModel) Assign(settings []float64) int {
	if len(m.Centroids) == 0 || len(settings) != len(m.SettingCenter) {
		return -1
	}
	var z [16]float64 // avoids allocating for the usual handful of settings
	zs := z[:0]
	if len(settings) > len(z) {
		zs = make([]float64, len(settings))
	}
	zs = zs[:len(settings)]
	for j, v := range settings {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return -1
		}
		zs[j] = (v - m.SettingCenter[j]) / m.SettingScale[j]
	}
	id, _ := nearest(zs, m.Centroids)
	return id
}

// Normalize writes (row-Mean[regime])/Std[regime] into dst; regime -1
// uses the global statistics. Missing values (NaN) stay NaN so the
// extractor's missing-data policy still sees them. row and dst may alias.
func (m *RegimeModel) Normalize(regime int, row, dst []float64) error {
	if regime < -1 || regime >= len(m.Mean) {
		return fmt.Errorf("regime: id %d out of range [-1,%d)", regime, len(m.Mean))
	}
	mean, std := m.GlobalMean, m.GlobalStd
	if regime >= 0 {
		mean, std = m.Mean[regime], m.Std[regime]
	}
	if len(row) != len(mean) || len(dst) < len(row) {
		return fmt.Errorf("regime: len(row)=%d len(dst)=%d, model has %d sensors", len(row), len(dst), len(mean))
	}
	for j, v := range row {
		dst[j] = (v - mean[j]) / std[j]
	}
	return nil
}

// CheckSensors refuses a model fitted on a different number of sensors.
func (m *RegimeModel) CheckSensors(spec Spec) error {
	if len(m.GlobalMean) != len(spec.Sensors) {
		return fmt.Errorf("regime: model has %d sensors, spec has %d", len(m.GlobalMean), len(spec.Sensors))
	}
	return nil
}
