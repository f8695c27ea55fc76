package features

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/dsp/fourier"
)

// degenerateRel: a population variance below (degenerateRel·max|x|)² is
// rounding noise from the mean of a constant window, not spread, and is
// treated as exactly zero so skew/kurt/std do not report noise.
const degenerateRel = 1e-12

// moments holds everything the scalar features need, gathered in two
// passes over the window.
type moments struct {
	n                  float64
	mean, m2, m3, m4   float64 // central moments, population (divide by n)
	min, max, maxAbs   float64
	sumSq              float64
	slope              float64
	degenerateVariance bool
}

func computeMoments(x []float64) moments {
	m := moments{n: float64(len(x)), min: x[0], max: x[0]}
	var sum float64
	for _, v := range x {
		sum += v
		m.sumSq += v * v
		m.min = min(m.min, v)
		m.max = max(m.max, v)
		m.maxAbs = max(m.maxAbs, math.Abs(v))
	}
	m.mean = sum / m.n
	tbar := (m.n - 1) / 2
	var sxy, sxx float64
	for i, v := range x {
		d := v - m.mean
		d2 := d * d
		m.m2 += d2
		m.m3 += d2 * d
		m.m4 += d2 * d2
		t := float64(i) - tbar
		sxy += t * d
		sxx += t * t
	}
	m.m2 /= m.n
	m.m3 /= m.n
	m.m4 /= m.n
	m.slope = sxy / sxx // sxx > 0 because Validate requires window >= 2
	tol := degenerateRel * m.maxAbs
	m.degenerateVariance = m.m2 <= tol*tol
	if m.degenerateVariance {
		m.m2, m.m3, m.m4 = 0, 0, 0
	}
	return m
}

func (m *moments) std() float64 { return math.Sqrt(m.m2) }

func (m *moments) skew() float64 {
	if m.degenerateVariance {
		return 0
	}
	return m.m3 / (m.m2 * math.Sqrt(m.m2))
}

func (m *moments) kurt() float64 {
	if m.degenerateVariance {
		return 0
	}
	return m.m4/(m.m2*m.m2) - 3
}

func (m *moments) rms() float64 { return math.Sqrt(m.sumSq / m.n) }

func (m *moments) crest() float64 {
	r := m.rms()
	if r == 0 {
		return 0
	}
	return m.maxAbs / r
}

func ewma(x []float64, alpha float64) float64 {
	s := x[0]
	for _, v := range x[1:] {
		s = alpha*v + (1-alpha)*s
	}
	return s
}

// featID indexes knownFeatures; the kernel switches on it rather than on
// names to keep string compares out of the per-window loop.
type featID uint8

const (
	fLast featID = iota
	fMean
	fStd
	fMin
	fMax
	fPtp
	fRMS
	fSlope
	fSkew
	fKurt
	fCrest
	fEWMA
	fDiff
	fLag
)

// scalarFeature writes the outputs of one feature and returns how many
// values it wrote.
func scalarFeature(id featID, x []float64, m *moments, s *Spec, dst []float64) int {
	n := len(x)
	var v float64
	switch id {
	case fLast:
		v = x[n-1]
	case fMean:
		v = m.mean
	case fStd:
		v = m.std()
	case fMin:
		v = m.min
	case fMax:
		v = m.max
	case fPtp:
		v = m.max - m.min
	case fRMS:
		v = m.rms()
	case fSlope:
		v = m.slope
	case fSkew:
		v = m.skew()
	case fKurt:
		v = m.kurt()
	case fCrest:
		v = m.crest()
	case fEWMA:
		v = ewma(x, s.EWMAAlpha)
	case fDiff:
		v = x[n-1] - x[0]
	case fLag:
		for i, k := range s.Lags {
			dst[i] = x[n-1-k]
		}
		return len(s.Lags)
	}
	dst[0] = v
	return 1
}

// kernel computes a full feature vector from ordered, gap-free window
// columns. It owns FFT scratch space, so each Extractor (and each batch
// call) has its own; it is not safe for concurrent use.
type kernel struct {
	spec     Spec
	feats    []featID
	spectral []bool // per sensor
	fft      *fourier.FFT
	centered []float64
	coeff    []complex128
}

func newKernel(s Spec) *kernel {
	k := &kernel{spec: s, spectral: make([]bool, len(s.Sensors))}
	for _, f := range s.Features {
		k.feats = append(k.feats, featID(slices.Index(knownFeatures, f)))
	}
	for i, name := range s.Sensors {
		k.spectral[i] = slices.Contains(s.Spectral.Sensors, name)
	}
	if len(s.Spectral.Sensors) > 0 {
		k.fft = fourier.NewFFT(s.Window)
		k.centered = make([]float64, s.Window)
		k.coeff = make([]complex128, s.Window/2+1)
	}
	return k
}

// compute fills dst (len NumFeatures) from cols[sensor] = window samples,
// oldest first. It returns false if any output is not finite (overflow on
// absurd inputs), so such a window is skipped rather than emitted.
func (k *kernel) compute(cols [][]float64, dst []float64) bool {
	off := 0
	for i, x := range cols {
		m := computeMoments(x)
		for _, f := range k.feats {
			off += scalarFeature(f, x, &m, &k.spec, dst[off:])
		}
		if k.spectral[i] {
			k.bandEnergies(x, m.mean, dst[off:off+k.spec.Spectral.Bands])
			off += k.spec.Spectral.Bands
		}
	}
	return allFinite(dst[:off])
}

// bandEnergies writes the one-sided power of the mean-removed window,
// summed over equal-width groups of bins 1..N/2. Scaled so the bands add
// up to the population variance (Parseval), which keeps them comparable
// across window lengths.
func (k *kernel) bandEnergies(x []float64, mean float64, dst []float64) {
	n := len(x)
	for i, v := range x {
		k.centered[i] = v - mean
	}
	k.fft.Coefficients(k.coeff, k.centered)
	half := n / 2
	bands := len(dst)
	nn := float64(n) * float64(n)
	for b := range bands {
		lo, hi := 1+b*half/bands, 1+(b+1)*half/bands
		var e float64
		for j := lo; j < hi; j++ {
			c := k.coeff[j]
			p := (real(c)*real(c) + imag(c)*imag(c)) / nn
			if !(n%2 == 0 && j == half) {
				p *= 2 // fold the mirrored negative-frequency bin
			}
			e += p
		}
		dst[b] = e
	}
}
