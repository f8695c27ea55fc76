package features

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ScalerVersion is the serialised format version of Scaler.
const ScalerVersion = 1

// ScalerKind selects how Center and Scale are estimated.
type ScalerKind string

const (
	// ZScore: center = mean, scale = population standard deviation.
	ZScore ScalerKind = "zscore"
	// Robust: center = median, scale = IQR (Q3-Q1, linear interpolation
	// between order statistics, numpy's default), resistant to the
	// outliers that faulty machines put in training data.
	Robust ScalerKind = "robust"
)

// Scaler maps x to (x-Center)/Scale per column. A column whose spread is
// zero (constant in training) gets Scale 1: it then only shifts, which
// keeps a later deviation visible instead of dividing by zero.
type Scaler struct {
	Version int        `json:"version"`
	Kind    ScalerKind `json:"kind"`
	Center  []float64  `json:"center"`
	Scale   []float64  `json:"scale"`
}

// NewScaler returns an unfitted scaler of the given kind.
func NewScaler(kind ScalerKind) *Scaler { return &Scaler{Version: ScalerVersion, Kind: kind} }

// Dim is the number of columns the scaler was fitted on.
func (s *Scaler) Dim() int { return len(s.Center) }

// Fit estimates Center and Scale from the rows of X, which is not
// modified. Every row must have the same length and only finite values.
func (s *Scaler) Fit(X [][]float64) error {
	if s.Kind != ZScore && s.Kind != Robust {
		return fmt.Errorf("scaler: unknown kind %q", s.Kind)
	}
	if len(X) == 0 {
		return errors.New("scaler: no rows to fit")
	}
	d := len(X[0])
	for i, r := range X {
		if len(r) != d {
			return fmt.Errorf("scaler: row %d has %d columns, want %d", i, len(r), d)
		}
		if !allFinite(r) {
			return fmt.Errorf("scaler: row %d has a non-finite value", i)
		}
	}
	s.Version = ScalerVersion
	s.Center = make([]float64, d)
	s.Scale = make([]float64, d)
	col := make([]float64, len(X))
	for j := range d {
		for i, r := range X {
			col[i] = r[j]
		}
		s.Center[j], s.Scale[j] = fitColumn(s.Kind, col)
	}
	return nil
}

func fitColumn(kind ScalerKind, col []float64) (center, scale float64) {
	if kind == ZScore {
		center, scale = meanStd(col)
	} else {
		slices.Sort(col)
		center = quantileSorted(col, 0.5)
		scale = quantileSorted(col, 0.75) - quantileSorted(col, 0.25)
	}
	if !(scale > degenerateRel*math.Abs(center)) || math.IsInf(scale, 0) {
		scale = 1
	}
	return center, scale
}

// meanStd returns the mean and population standard deviation (two-pass).
func meanStd(x []float64) (mean, std float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(x)))
}

// quantileSorted is the type-7 (linear interpolation) quantile.
func quantileSorted(x []float64, p float64) float64 {
	h := p * float64(len(x)-1)
	lo := int(math.Floor(h))
	if lo >= len(x)-1 {
		return x[len(x)-1]
	}
	return x[lo] + (h-float64(lo))*(x[lo+1]-x[lo])
}

func (s *Scaler) checkDims(x, dst []float64) error {
	if len(s.Center) == 0 {
		return errors.New("scaler: not fitted")
	}
	if len(x) != len(s.Center) || len(dst) < len(x) {
		return fmt.Errorf("scaler: len(x)=%d len(dst)=%d, scaler dim %d", len(x), len(dst), len(s.Center))
	}
	return nil
}

// Transform writes (x-Center)/Scale into dst; x and dst may be the same slice.
func (s *Scaler) Transform(x, dst []float64) error {
	if err := s.checkDims(x, dst); err != nil {
		return err
	}
	for j, v := range x {
		dst[j] = (v - s.Center[j]) / s.Scale[j]
	}
	return nil
}

// Inverse writes z*Scale+Center into dst; z and dst may be the same slice.
func (s *Scaler) Inverse(z, dst []float64) error {
	if err := s.checkDims(z, dst); err != nil {
		return err
	}
	for j, v := range z {
		dst[j] = v*s.Scale[j] + s.Center[j]
	}
	return nil
}

// Validate checks a decoded scaler: known version and kind, matching
// lengths, finite centers and positive finite scales.
func (s *Scaler) Validate() error {
	switch {
	case s.Version != ScalerVersion:
		return fmt.Errorf("scaler: version %d not supported (want %d)", s.Version, ScalerVersion)
	case s.Kind != ZScore && s.Kind != Robust:
		return fmt.Errorf("scaler: unknown kind %q", s.Kind)
	case len(s.Center) != len(s.Scale):
		return fmt.Errorf("scaler: %d centers but %d scales", len(s.Center), len(s.Scale))
	case !allFinite(s.Center) || !allFinite(s.Scale):
		return errors.New("scaler: non-finite center or scale")
	}
	for j, v := range s.Scale {
		if v <= 0 {
			return fmt.Errorf("scaler: scale[%d]=%v must be > 0", j, v)
		}
	}
	return nil
}

// CheckSpec refuses a scaler whose dimension differs from the spec's.
func (s *Scaler) CheckSpec(spec Spec) error {
	if s.Dim() != spec.NumFeatures() {
		return fmt.Errorf("scaler: dim %d but spec has %d features", s.Dim(), spec.NumFeatures())
	}
	return nil
}

// UnmarshalJSON decodes strictly and validates.
func (s *Scaler) UnmarshalJSON(b []byte) error {
	type plain Scaler
	var p plain
	if err := strictDecode(b, &p); err != nil {
		return fmt.Errorf("scaler: decode: %w", err)
	}
	if err := (*Scaler)(&p).Validate(); err != nil {
		return err
	}
	*s = Scaler(p)
	return nil
}
