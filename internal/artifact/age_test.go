package artifact_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
)

// A model with an age column is written as format 5 and reads back with it; a model
// without one keeps the format it had (old files and old readers are unaffected).
func TestAgeColumnFormat(t *testing.T) {
	m := artifacttest.RULAged([]string{"a", "b"}, 5, 40, -10, 10, "cycle")
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "FAULTLINE-MODEL 5 ") || !strings.Contains(buf.String(), `"age_column":"cycle"`) {
		t.Fatalf("header %q", buf.String()[:40])
	}
	back, err := artifact.Decode(&buf)
	if err != nil || back.AgeColumn != "cycle" || back.NumInputs() != back.Spec.NumFeatures()+1 {
		t.Fatalf("decoded age column %q, inputs %d (%v)", back.AgeColumn, back.NumInputs(), err)
	}
	old := artifacttest.RUL([]string{"a", "b"}, 5, 40, -10, 10)
	buf.Reset()
	if err := old.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "FAULTLINE-MODEL 1 ") || strings.Contains(buf.String(), "age_column") {
		t.Fatalf("a model without an age column: header %q", buf.String()[:40])
	}
}

// A model file whose age column contradicts the rest is refused at load.
func TestAgeColumnValidated(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*artifact.Model)
		want string
	}{
		{"anomaly", func(m *artifact.Model) { m.Task = artifact.TaskAnomaly }, "age_column needs a rul model"},
		{"and row count", func(m *artifact.Model) { m.AgeFeature = true }, "age_column \"cycle\" and age_feature exclude each other"},
		{"a sensor", func(m *artifact.Model) { m.AgeColumn = "a" }, "age_column \"a\" is also a sensor or setting column"},
		{"member", func(m *artifact.Model) {
			mm := artifacttest.RUL([]string{"a", "b"}, 5, 40, 0, 0)
			m.Members = []*artifact.Model{mm}
		}, "member 0: its age input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := artifacttest.RULAged([]string{"a", "b"}, 5, 40, -10, 10, "cycle")
			tc.edit(m)
			if err := m.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
