package features

import (
	"errors"
	"fmt"
	"math"
)

// fitStats computes global and per-regime sensor mean/std, ignoring NaN
// per column. A regime column with fewer than minCount finite values takes
// the global values: a mean from a handful of samples would turn noise
// into a fake regime offset.
func fitStats(ids []int, sensors [][]float64, k, minCount int) *RegimeModel {
	d := len(sensors[0])
	all := make([]int, len(sensors))
	members := make([][]int, k)
	for i, id := range ids {
		all[i] = i
		if id >= 0 {
			members[id] = append(members[id], i)
		}
	}
	m := &RegimeModel{Version: RegimeVersion, MinCount: minCount, Count: make([]int, k)}
	m.GlobalMean, m.GlobalStd = columnStats(sensors, all, d, 1, nil, nil)
	m.Mean, m.Std = make([][]float64, k), make([][]float64, k)
	for r := range k {
		m.Count[r] = len(members[r])
		m.Mean[r], m.Std[r] = columnStats(sensors, members[r], d, minCount, m.GlobalMean, m.GlobalStd)
	}
	return m
}

// columnStats returns per-column mean/std over the given rows, falling
// back to (fbMean, fbStd) for columns with fewer than minCount values.
func columnStats(rows [][]float64, idx []int, d, minCount int, fbMean, fbStd []float64) (mean, std []float64) {
	mean, std = make([]float64, d), make([]float64, d)
	col := make([]float64, 0, len(idx))
	for j := range d {
		col = col[:0]
		for _, i := range idx {
			if v := rows[i][j]; !math.IsNaN(v) && !math.IsInf(v, 0) {
				col = append(col, v)
			}
		}
		switch {
		case len(col) >= minCount && len(col) > 0:
			mean[j], std[j] = fitColumn(ZScore, col)
		case fbMean != nil:
			mean[j], std[j] = fbMean[j], fbStd[j]
		default:
			mean[j], std[j] = 0, 1 // column never observed
		}
	}
	return mean, std
}

// Validate checks a decoded model: version, consistent shapes, finite
// values and positive scales.
func (m *RegimeModel) Validate() error {
	if m.Version != RegimeVersion {
		return fmt.Errorf("regime: version %d not supported (want %d)", m.Version, RegimeVersion)
	}
	k, d := len(m.Mean), len(m.GlobalMean)
	if k == 0 || d == 0 {
		return errors.New("regime: empty model")
	}
	if len(m.Std) != k || len(m.Count) != k || len(m.GlobalStd) != d {
		return errors.New("regime: inconsistent regime or sensor counts")
	}
	if err := checkScaleRows(append([][]float64{m.GlobalMean}, m.Mean...), append([][]float64{m.GlobalStd}, m.Std...), d); err != nil {
		return err
	}
	if len(m.Centroids) == 0 {
		return nil
	}
	ds := len(m.SettingCenter)
	if len(m.Centroids) != k || len(m.SettingScale) != ds {
		return errors.New("regime: centroids do not match regimes or settings")
	}
	if err := checkScaleRows([][]float64{m.SettingCenter}, [][]float64{m.SettingScale}, ds); err != nil {
		return err
	}
	for _, c := range m.Centroids {
		if len(c) != ds || !allFinite(c) {
			return errors.New("regime: centroid has wrong length or non-finite value")
		}
	}
	return nil
}

func checkScaleRows(centers, scales [][]float64, d int) error {
	for i := range centers {
		if len(centers[i]) != d || len(scales[i]) != d {
			return fmt.Errorf("regime: row has wrong length (want %d)", d)
		}
		if !allFinite(centers[i]) || !allFinite(scales[i]) {
			return errors.New("regime: non-finite statistic")
		}
		for _, s := range scales[i] {
			if s <= 0 {
				return errors.New("regime: scale must be > 0")
			}
		}
	}
	return nil
}

// UnmarshalJSON decodes strictly and validates.
func (m *RegimeModel) UnmarshalJSON(b []byte) error {
	type plain RegimeModel
	var p plain
	if err := strictDecode(b, &p); err != nil {
		return fmt.Errorf("regime: decode: %w", err)
	}
	if err := (*RegimeModel)(&p).Validate(); err != nil {
		return err
	}
	*m = RegimeModel(p)
	return nil
}
