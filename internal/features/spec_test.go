package features

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSpecValidate(t *testing.T) {
	base := func() Spec { return richSpec(3, 16, 2) }
	tests := []struct {
		name string
		edit func(*Spec)
		want string // substring of the error; "" = valid
	}{
		{"default is valid", func(*Spec) {}, ""},
		{"DefaultSpec is valid", func(s *Spec) { *s = DefaultSpec([]string{"a"}, 2) }, ""},
		{"wrong version", func(s *Spec) { s.Version = 99 }, "version 99 not supported"},
		{"no sensors", func(s *Spec) { s.Sensors = nil; s.Spectral = Spectral{} }, "no sensors"},
		{"duplicate sensor", func(s *Spec) { s.Sensors = []string{"s0", "s1", "s0"} }, `duplicate sensor "s0"`},
		{"empty sensor", func(s *Spec) { s.Sensors[1] = "" }, "empty sensor name"},
		{"dotted sensor", func(s *Spec) { s.Sensors = append(s.Sensors, "a.b") }, `"a.b" contains '.'`},
		{"window < 2", func(s *Spec) { s.Window = 1; s.Lags = nil; s.Features = []string{"mean"}; s.Spectral = Spectral{} }, "window 1 not in [2,"},
		{"window huge", func(s *Spec) { s.Window = MaxWindow + 1 }, "window 1048577 not in"},
		{"stride < 1", func(s *Spec) { s.Stride = 0 }, "stride 0 < 1"},
		{"unknown feature", func(s *Spec) { s.Features = append(s.Features, "entropy") }, `unknown feature "entropy"`},
		{"duplicate feature", func(s *Spec) { s.Features = append(s.Features, "mean") }, `duplicate feature "mean"`},
		{"ewma alpha 0", func(s *Spec) { s.EWMAAlpha = 0 }, "ewma_alpha 0 not in (0,1]"},
		{"ewma alpha > 1", func(s *Spec) { s.EWMAAlpha = 1.5 }, "ewma_alpha 1.5"},
		{"lag without lags", func(s *Spec) { s.Lags = nil }, `needs at least one entry in lags`},
		{"lags without lag", func(s *Spec) { s.Features = []string{"mean"} }, `lags given but feature "lag" not selected`},
		{"lag too large", func(s *Spec) { s.Lags = []int{16} }, "lag 16 not in [1, window-1=15]"},
		{"lag zero", func(s *Spec) { s.Lags = []int{0} }, "lag 0 not in"},
		{"duplicate lag", func(s *Spec) { s.Lags = []int{2, 2} }, "duplicate lag 2"},
		{"spectral unknown sensor", func(s *Spec) { s.Spectral.Sensors = []string{"zz"} }, `spectral sensor "zz" not in sensors`},
		{"spectral too many bands", func(s *Spec) { s.Spectral.Bands = 9 }, "spectral bands 9 not in [1, window/2=8]"},
		{"spectral bands without sensors", func(s *Spec) { s.Spectral.Sensors = nil }, "no spectral sensors"},
		{"spectral sensors without bands", func(s *Spec) { s.Spectral.Bands = 0 }, "spectral bands 0"},
		{"negative max fill", func(s *Spec) { s.MaxFill = -1 }, "max_fill -1 < 0"},
		{"missing frac > 1", func(s *Spec) { s.MaxMissingFrac = 1.5 }, "max_missing_frac 1.5 not in [0,1]"},
		{"no features", func(s *Spec) { s.Features = nil; s.Lags = nil; s.Spectral = Spectral{} }, "produces 0 features"},
		{"too many features", func(s *Spec) { s.Window = 1 << 18; s.Spectral.Bands = 1 << 16 }, "produces 131117 features"},
		{"spectral only is fine", func(s *Spec) { s.Features = nil; s.Lags = nil }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.edit(&s)
			err := s.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			case err != nil && !errors.Is(err, ErrInvalidSpec):
				t.Fatalf("error %v does not wrap ErrInvalidSpec", err)
			}
		})
	}
}

func TestFeatureNames(t *testing.T) {
	s := DefaultSpec([]string{"temp", "vib"}, 8)
	s.Features = []string{"mean", "lag"}
	s.Lags = []int{2, 1}
	s.Spectral = Spectral{Sensors: []string{"vib"}, Bands: 2}
	want := []string{"temp.mean", "temp.lag2", "temp.lag1", "vib.mean", "vib.lag2", "vib.lag1", "vib.band0", "vib.band1"}
	if got := s.FeatureNames(); !slices.Equal(got, want) || s.NumFeatures() != len(want) {
		t.Fatalf("names %v (n=%d), want %v", got, s.NumFeatures(), want)
	}
}

func TestSpecJSONRoundTrip(t *testing.T) {
	s := richSpec(4, 32, 3)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got Spec
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Fingerprint() != s.Fingerprint() || !slices.Equal(got.FeatureNames(), s.FeatureNames()) {
		t.Fatalf("round trip changed spec:\n%s\n%+v", b, got)
	}
	if err := got.Compatible(s); err != nil {
		t.Fatal(err)
	}
}

func TestSpecJSONRejects(t *testing.T) {
	good, _ := json.Marshal(DefaultSpec([]string{"a"}, 4))
	tests := []struct{ name, json, want string }{
		{"unknown key", strings.Replace(string(good), `"window"`, `"windw":1,"window"`, 1), "unknown field"},
		{"invalid spec", strings.Replace(string(good), `"window":4`, `"window":1`, 1), "window 1"},
		{"wrong type", `{"version":"1"}`, "cannot unmarshal"},
		{"trailing data", string(good) + "{}", "after top-level value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Spec
			err := json.Unmarshal([]byte(tc.json), &s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFingerprintChanges(t *testing.T) {
	base := richSpec(3, 16, 2)
	fp := base.Fingerprint()
	if fp != base.Clone().Fingerprint() {
		t.Fatal("fingerprint not stable")
	}
	edits := map[string]func(*Spec){
		"version":      func(s *Spec) { s.Version++ },
		"sensor order": func(s *Spec) { s.Sensors[0], s.Sensors[1] = s.Sensors[1], s.Sensors[0] },
		"sensor name":  func(s *Spec) { s.Sensors[1] = "other" },
		"window":       func(s *Spec) { s.Window++ },
		"stride":       func(s *Spec) { s.Stride++ },
		"feature":      func(s *Spec) { s.Features = s.Features[1:] },
		"alpha":        func(s *Spec) { s.EWMAAlpha += 1e-9 },
		"lags":         func(s *Spec) { s.Lags = []int{5, 1} },
		"bands":        func(s *Spec) { s.Spectral.Bands++ },
		"spectral":     func(s *Spec) { s.Spectral.Sensors = s.Spectral.Sensors[:1] },
		"max fill":     func(s *Spec) { s.MaxFill++ },
		"missing frac": func(s *Spec) { s.MaxMissingFrac += 0.01 },
	}
	for name, edit := range edits {
		s := base.Clone()
		edit(&s)
		if s.Fingerprint() == fp {
			t.Errorf("%s: fingerprint unchanged", name)
		}
		if s.Compatible(base) == nil {
			t.Errorf("%s: Compatible reported no mismatch", name)
		}
	}
	if base.Fingerprint() != fp {
		t.Fatal("edits of clones leaked into the base spec")
	}
}

// FuzzSpecJSON: any accepted spec is valid, re-encodes to the same
// fingerprint, names every output, and can build an extractor.
func FuzzSpecJSON(f *testing.F) {
	for _, s := range []Spec{DefaultSpec([]string{"a", "b"}, 8), richSpec(2, 16, 3)} {
		b, _ := json.Marshal(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Spec
		if err := json.Unmarshal(data, &s); err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("decoded spec does not validate: %v", err)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var again Spec
		if err := json.Unmarshal(b, &again); err != nil || again.Fingerprint() != s.Fingerprint() {
			t.Fatalf("re-decode: %v", err)
		}
		if len(s.FeatureNames()) != s.NumFeatures() {
			t.Fatalf("%d names for %d features", len(s.FeatureNames()), s.NumFeatures())
		}
		if s.Window*len(s.Sensors) <= 1<<16 {
			if _, err := NewExtractor(s); err != nil {
				t.Fatal(err)
			}
		}
	})
}
