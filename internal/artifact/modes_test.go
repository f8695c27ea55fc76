package artifact_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
)

// The optional forecast and likelihood fields round-trip, and inconsistent settings
// are refused with a message naming them.
func TestModesValidate(t *testing.T) {
	m := artifacttest.Anomaly([]string{"v"}, 4)
	m.Forecast = 3
	m.Likelihood = &artifact.Likelihood{Short: 5, Long: 100, MinHistory: 50, MinStd: 0.1}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := artifact.Decode(strings.NewReader(string(encode(t, m))))
	if err != nil {
		t.Fatal(err)
	}
	if got.Forecast != 3 || *got.Likelihood != *m.Likelihood {
		t.Fatalf("decoded forecast %d likelihood %+v", got.Forecast, got.Likelihood)
	}
	for _, tc := range []struct {
		name, want string
		edit       func(*artifact.Model)
	}{
		{"stride", "forecast needs", func(m *artifact.Model) { m.Spec.Stride = 2 }},
		{"short>long", "likelihood windows", func(m *artifact.Model) { m.Likelihood.Short = 200 }},
		{"min std", "min_std", func(m *artifact.Model) { m.Likelihood.MinStd = 0 }},
		{"age without input", "input scaler has", func(m *artifact.Model) { m.AgeFeature = true }},
	} {
		c := artifacttest.Anomaly([]string{"v"}, 4)
		c.Forecast = 3
		c.Likelihood = &artifact.Likelihood{Short: 5, Long: 100, MinHistory: 50, MinStd: 0.1}
		tc.edit(c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}

// The envelope and the target feature round-trip, and broken ones are refused with a
// message naming them.
func TestEnvelopeAndTargetFeatureValidate(t *testing.T) {
	valid := func() *artifact.Model {
		m := artifacttest.Anomaly([]string{"v"}, 4)
		m.TargetFeature = "ewma"
		m.Envelope = &artifact.Envelope{Min: []float64{1}, Max: []float64{5}, Allowance: 0.1}
		return m
	}
	m := valid()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := artifact.Decode(strings.NewReader(string(encode(t, m))))
	if err != nil {
		t.Fatal(err)
	}
	if got.TargetFeature != "ewma" || got.Envelope.Max[0] != 5 || got.Envelope.Allowance != 0.1 || got.ResidualFeature(0) != "ewma" {
		t.Fatalf("decoded target feature %q envelope %+v", got.TargetFeature, got.Envelope)
	}
	for _, tc := range []struct {
		name, want string
		edit       func(*artifact.Model)
	}{
		{"unknown feature", `target_feature "median"`, func(m *artifact.Model) { m.TargetFeature = "median" }},
		{"with forecast", "exclude each other", func(m *artifact.Model) { m.Forecast = 2 }},
		{"no allowance", "allowance", func(m *artifact.Model) { m.Envelope.Allowance = 0 }},
		{"inverted", "not a finite range", func(m *artifact.Model) { m.Envelope.Min[0] = 9 }},
		{"wrong length", "min and max for each", func(m *artifact.Model) { m.Envelope.Max = nil }},
	} {
		c := valid()
		tc.edit(c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}

// A model with an envelope or a target feature is written as format 2, which a
// format-1 reader refuses (it would drop the fields and score wrong); a model without
// them stays format 1, byte for byte what older daemons read.
func TestFormatVersionFollowsFields(t *testing.T) {
	plain := artifacttest.Anomaly([]string{"v"}, 4)
	if b := encode(t, plain); !strings.HasPrefix(string(b), "FAULTLINE-MODEL 1 ") {
		t.Fatalf("plain model header %q, want format 1", strings.SplitN(string(b), "\n", 2)[0])
	}
	for name, edit := range map[string]func(*artifact.Model){
		"envelope": func(m *artifact.Model) {
			m.Envelope = &artifact.Envelope{Min: []float64{1}, Max: []float64{5}, Allowance: 0.05}
		},
		"target feature": func(m *artifact.Model) { m.TargetFeature = "ewma" },
	} {
		m := artifacttest.Anomaly([]string{"v"}, 4)
		edit(m)
		b := encode(t, m)
		if !strings.HasPrefix(string(b), "FAULTLINE-MODEL 2 ") {
			t.Fatalf("%s: header %q, want format 2", name, strings.SplitN(string(b), "\n", 2)[0])
		}
		if _, err := artifact.Decode(strings.NewReader(string(b))); err != nil {
			t.Fatalf("%s: this build must read its own format 2: %v", name, err)
		}
	}
}

// Files written before the mode fields were grouped (trained models with every mode:
// an anomaly model with forecast, likelihood, level with lag and weight, novelty,
// envelope with per-target allowances, monitor, sensor check and baseline; a rul model
// with age, history EWMA, a member, short-history padding and a band) load, keep
// their modes, and encode back to the very same bytes: the JSON names, their order
// and the format version did not move.
func TestModeGoldensKeepTheirBytes(t *testing.T) {
	for _, tc := range []struct {
		file  string
		modes func(m *artifact.Model) bool
	}{
		{"golden-v4-anomaly-modes.model", func(m *artifact.Model) bool {
			return m.Forecast == 1 && m.Likelihood != nil && m.Level != nil && m.Level.Lag == 24 && m.Novelty != nil &&
				m.Envelope != nil && len(m.Envelope.Allowances) == 3 && m.Monitor != nil && m.SensorCheck != nil && m.Baseline != nil
		}},
		{"golden-v1-rul-modes.model", func(m *artifact.Model) bool {
			return m.AgeFeature && len(m.HistoryEWMA) == 2 && len(m.Members) == 1 && m.PadShort && m.Band != nil
		}},
	} {
		path := filepath.Join("testdata", tc.file)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := artifact.Load(path)
		if err != nil {
			t.Fatalf("%s no longer loads: %v", tc.file, err)
		}
		if !tc.modes(m) {
			t.Errorf("%s: a mode was lost on loading: %+v", tc.file, m)
		}
		if got := encode(t, m); !bytes.Equal(got, raw) {
			t.Errorf("%s: re-encoded bytes differ from the file (header %q, was %q)", tc.file, got[:bytes.IndexByte(got, '\n')], raw[:bytes.IndexByte(raw, '\n')])
		}
	}
}

// Per-target features (format 7) round-trip and override the model-wide one; a list
// of the wrong length, an unknown feature or one with a forecaster is refused.
func TestTargetFeaturesValidate(t *testing.T) {
	valid := func() *artifact.Model {
		m := artifacttest.Anomaly([]string{"a", "b"}, 4)
		m.TargetFeature = "last"
		m.TargetFeatures = []string{"mean", "ewma"}
		return m
	}
	m := valid()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	raw := encode(t, m)
	if !strings.HasPrefix(string(raw), "FAULTLINE-MODEL 7 ") {
		t.Fatalf("header %q, want format 7", strings.SplitN(string(raw), "\n", 2)[0])
	}
	got, err := artifact.Decode(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if got.ResidualFeature(0) != "mean" || got.ResidualFeature(1) != "ewma" {
		t.Fatalf("decoded features %q %q, want mean ewma", got.ResidualFeature(0), got.ResidualFeature(1))
	}
	for _, tc := range []struct {
		name, want string
		edit       func(*artifact.Model)
	}{
		{"short", "want one per target (2)", func(m *artifact.Model) { m.TargetFeatures = m.TargetFeatures[:1] }},
		{"unknown", `target_features: "median"`, func(m *artifact.Model) { m.TargetFeatures[1] = "median" }},
		{"with forecast", "target_features and forecast", func(m *artifact.Model) { m.TargetFeature, m.Forecast = "", 2 }},
	} {
		c := valid()
		tc.edit(c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}
