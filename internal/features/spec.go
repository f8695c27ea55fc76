package features

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// SpecVersion is the format version of Spec written by this package.
// Bump it whenever a feature formula or the missing-data policy changes,
// because a model trained on the old numbers must then be refused.
const SpecVersion = 1

// Feature names accepted in Spec.Features. See doc.go for formulas.
const (
	FeatLast  = "last"
	FeatMean  = "mean"
	FeatStd   = "std"
	FeatMin   = "min"
	FeatMax   = "max"
	FeatPtp   = "ptp"
	FeatRMS   = "rms"
	FeatSlope = "slope"
	FeatSkew  = "skew"
	FeatKurt  = "kurt"
	FeatCrest = "crest"
	FeatEWMA  = "ewma"
	FeatDiff  = "diff"
	// FeatLag expands to one output per entry of Spec.Lags, named "lag<k>".
	FeatLag = "lag"
)

// knownFeatures maps a feature name to its kernel id; its order is the
// canonical listing used in error messages.
var knownFeatures = []string{
	FeatLast, FeatMean, FeatStd, FeatMin, FeatMax, FeatPtp, FeatRMS,
	FeatSlope, FeatSkew, FeatKurt, FeatCrest, FeatEWMA, FeatDiff, FeatLag,
}

// MaxWindow bounds Spec.Window so a corrupt model file cannot make the
// daemon allocate without limit.
const MaxWindow = 1 << 20

// MaxFeatures bounds NumFeatures for the same reason.
const MaxFeatures = 1 << 16

// ErrInvalidSpec is wrapped by every error returned from Spec.Validate.
var ErrInvalidSpec = errors.New("invalid feature spec")

// Spectral selects sensors that get FFT band energies (typically
// high-rate vibration channels) and how many equal-width bands to use.
type Spectral struct {
	Sensors []string `json:"sensors,omitempty"`
	Bands   int      `json:"bands,omitempty"`
}

// Spec fully determines the feature vector. It is stored in model files
// and compared (via Fingerprint) by the inference daemon.
type Spec struct {
	Version  int      `json:"version"`
	Sensors  []string `json:"sensors"`
	Window   int      `json:"window"`
	Stride   int      `json:"stride"`
	Features []string `json:"features"`
	// EWMAAlpha is the smoothing factor in (0,1]; required when "ewma" is used.
	EWMAAlpha float64  `json:"ewma_alpha,omitempty"`
	Lags      []int    `json:"lags,omitempty"`
	Spectral  Spectral `json:"spectral"`
	// MaxFill is the longest run of consecutive missing samples that is
	// forward-filled; 0 disables filling.
	MaxFill int `json:"max_fill"`
	// MaxMissingFrac is the largest fraction of missing (then filled)
	// samples per sensor a window may contain and still be emitted.
	MaxMissingFrac float64 `json:"max_missing_frac"`
}

// DefaultSpec returns a spec with the time-domain features that proved
// useful for degradation trends (level, spread, trend, shape), stride 1,
// short forward fill and no spectral bands.
func DefaultSpec(sensors []string, window int) Spec {
	return Spec{
		Version:        SpecVersion,
		Sensors:        slices.Clone(sensors),
		Window:         window,
		Stride:         1,
		Features:       []string{FeatLast, FeatMean, FeatStd, FeatMin, FeatMax, FeatSlope, FeatEWMA, FeatDiff},
		EWMAAlpha:      0.2,
		MaxFill:        3,
		MaxMissingFrac: 0.2,
	}
}

// Clone returns a deep copy so callers can keep editing their Spec.
func (s Spec) Clone() Spec {
	c := s
	c.Sensors = slices.Clone(s.Sensors)
	c.Features = slices.Clone(s.Features)
	c.Lags = slices.Clone(s.Lags)
	c.Spectral.Sensors = slices.Clone(s.Spectral.Sensors)
	return c
}

// Validate reports every problem found, joined, wrapping ErrInvalidSpec.
func (s Spec) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Version != SpecVersion {
		add("version %d not supported (want %d)", s.Version, SpecVersion)
	}
	errs = append(errs, validateNames("sensor", s.Sensors)...)
	if len(s.Sensors) == 0 {
		add("no sensors")
	}
	if s.Window < 2 || s.Window > MaxWindow {
		add("window %d not in [2, %d]", s.Window, MaxWindow)
	}
	if s.Stride < 1 {
		add("stride %d < 1", s.Stride)
	}
	errs = append(errs, s.validateFeatures()...)
	errs = append(errs, s.validateSpectral()...)
	if s.MaxFill < 0 {
		add("max_fill %d < 0", s.MaxFill)
	}
	if !(s.MaxMissingFrac >= 0 && s.MaxMissingFrac <= 1) {
		add("max_missing_frac %v not in [0,1]", s.MaxMissingFrac)
	}
	if n := s.NumFeatures(); len(errs) == 0 && (n == 0 || n > MaxFeatures) {
		add("spec produces %d features, want 1..%d", n, MaxFeatures)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidSpec, errors.Join(errs...))
}

func validateNames(kind string, names []string) []error {
	var errs []error
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		switch {
		case n == "":
			errs = append(errs, fmt.Errorf("empty %s name", kind))
		case strings.Contains(n, "."):
			// "." separates sensor and feature in FeatureNames.
			errs = append(errs, fmt.Errorf("%s name %q contains '.'", kind, n))
		case seen[n]:
			errs = append(errs, fmt.Errorf("duplicate %s %q", kind, n))
		}
		seen[n] = true
	}
	return errs
}

func (s Spec) validateFeatures() []error {
	var errs []error
	seen := map[string]bool{}
	for _, f := range s.Features {
		if !slices.Contains(knownFeatures, f) {
			errs = append(errs, fmt.Errorf("unknown feature %q (known: %s)", f, strings.Join(knownFeatures, ", ")))
		} else if seen[f] {
			errs = append(errs, fmt.Errorf("duplicate feature %q", f))
		}
		seen[f] = true
	}
	if seen[FeatEWMA] && !(s.EWMAAlpha > 0 && s.EWMAAlpha <= 1) {
		errs = append(errs, fmt.Errorf("ewma_alpha %v not in (0,1]", s.EWMAAlpha))
	}
	if seen[FeatLag] && len(s.Lags) == 0 {
		errs = append(errs, errors.New(`feature "lag" needs at least one entry in lags`))
	}
	if !seen[FeatLag] && len(s.Lags) > 0 {
		errs = append(errs, errors.New(`lags given but feature "lag" not selected`))
	}
	lagSeen := map[int]bool{}
	for _, k := range s.Lags {
		if k < 1 || k > s.Window-1 {
			errs = append(errs, fmt.Errorf("lag %d not in [1, window-1=%d]", k, s.Window-1))
		} else if lagSeen[k] {
			errs = append(errs, fmt.Errorf("duplicate lag %d", k))
		}
		lagSeen[k] = true
	}
	return errs
}

func (s Spec) validateSpectral() []error {
	sp := s.Spectral
	if len(sp.Sensors) == 0 && sp.Bands == 0 {
		return nil
	}
	errs := validateNames("spectral sensor", sp.Sensors)
	for _, n := range sp.Sensors {
		if n != "" && !slices.Contains(s.Sensors, n) {
			errs = append(errs, fmt.Errorf("spectral sensor %q not in sensors", n))
		}
	}
	if len(sp.Sensors) == 0 {
		errs = append(errs, errors.New("spectral bands given but no spectral sensors"))
	}
	// Bands are built from bins 1..window/2; each band needs at least one bin.
	if sp.Bands < 1 || sp.Bands > s.Window/2 {
		errs = append(errs, fmt.Errorf("spectral bands %d not in [1, window/2=%d]", sp.Bands, s.Window/2))
	}
	return errs
}

// scalarCount is the number of outputs each sensor gets from Features.
func (s Spec) scalarCount() int {
	n := len(s.Features)
	if slices.Contains(s.Features, FeatLag) {
		n += len(s.Lags) - 1
	}
	return n
}

// NumFeatures is the length of every feature vector produced for s.
func (s Spec) NumFeatures() int {
	return len(s.Sensors)*s.scalarCount() + len(s.Spectral.Sensors)*s.Spectral.Bands
}

// FeatureNames lists output columns as "sensor.feature" in output order:
// per sensor (in Sensors order) its Features (lags expanded in Lags order),
// followed by "bandN" for spectral sensors.
func (s Spec) FeatureNames() []string {
	names := make([]string, 0, s.NumFeatures())
	for _, sensor := range s.Sensors {
		for _, f := range s.Features {
			if f != FeatLag {
				names = append(names, sensor+"."+f)
				continue
			}
			for _, k := range s.Lags {
				names = append(names, fmt.Sprintf("%s.lag%d", sensor, k))
			}
		}
		if slices.Contains(s.Spectral.Sensors, sensor) {
			for b := range s.Spectral.Bands {
				names = append(names, fmt.Sprintf("%s.band%d", sensor, b))
			}
		}
	}
	return names
}

// Fingerprint is a hex SHA-256 of the canonical JSON of s. Every field
// affects the output numbers or their order, so all of them are hashed.
func (s Spec) Fingerprint() string {
	b, err := json.Marshal(s)
	if err != nil {
		// Spec holds only strings, ints and floats; NaN is the one value
		// json refuses, so hash a textual form instead of failing.
		b = fmt.Appendf(nil, "%#v", s)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Compatible reports whether a spec stored in a model equals the one the
// daemon was configured with, with a message naming the first difference.
func (s Spec) Compatible(other Spec) error {
	if s.Fingerprint() == other.Fingerprint() {
		return nil
	}
	a, b := s.FeatureNames(), other.FeatureNames()
	if !slices.Equal(a, b) {
		return fmt.Errorf("feature spec mismatch: feature names differ (%d vs %d columns)", len(a), len(b))
	}
	return fmt.Errorf("feature spec mismatch: fingerprint %.12s vs %.12s (window, stride, parameters or version differ)",
		s.Fingerprint(), other.Fingerprint())
}

// UnmarshalJSON decodes strictly (unknown keys fail) and validates, so a
// model file with a corrupt or foreign spec is refused at load time.
func (s *Spec) UnmarshalJSON(b []byte) error {
	type plain Spec
	var p plain
	if err := strictDecode(b, &p); err != nil {
		return fmt.Errorf("decode spec: %w", err)
	}
	if err := Spec(p).Validate(); err != nil {
		return err
	}
	*s = Spec(p)
	return nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

func allFinite(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
