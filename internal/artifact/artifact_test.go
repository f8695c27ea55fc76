package artifact_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
)

func encode(t *testing.T, m *artifact.Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := m.Encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	m := artifacttest.Anomaly([]string{"temp", "vib"}, 8)
	path := filepath.Join(t.TempDir(), "m.model")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := artifact.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, got), encode(t, m)) {
		t.Fatal("re-encoded model differs from the original")
	}
	if got.Spec.Fingerprint() != m.Spec.Fingerprint() {
		t.Fatal("spec fingerprint changed")
	}
}

// TestGolden keeps format-1 files loading in every later version. Regenerate only
// when adding a new golden for a new format: FAULTLINE_UPDATE_GOLDEN=1.
func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "golden-v1.model")
	if os.Getenv("FAULTLINE_UPDATE_GOLDEN") == "1" {
		if err := artifacttest.Anomaly([]string{"temp", "vib"}, 8).Save(path); err != nil {
			t.Fatal(err)
		}
	}
	m, err := artifact.Load(path)
	if err != nil {
		t.Fatalf("golden format-1 model no longer loads: %v", err)
	}
	if m.Task != artifact.TaskAnomaly || len(m.Targets) != 2 || m.Spec.Window != 8 {
		t.Fatalf("golden content changed: %+v", m)
	}
}

func TestRefusals(t *testing.T) {
	good := encode(t, artifacttest.Anomaly([]string{"a"}, 4))
	nl := bytes.IndexByte(good, '\n')
	flip := append([]byte(nil), good...)
	flip[nl+10] ^= 0x20
	future := bytes.Replace(good, []byte("FAULTLINE-MODEL 1 "), []byte("FAULTLINE-MODEL 9 "), 1)
	huge := bytes.Replace(good, good[:nl], []byte("FAULTLINE-MODEL 1 999999999999 sha256:00"), 1)
	cases := map[string]struct {
		in   []byte
		want string
	}{
		"empty":          {nil, "no header line"},
		"not a model":    {[]byte("hello world\n{}"), "bad header"},
		"truncated":      {good[:len(good)-10], "truncated"},
		"corrupt":        {flip, "checksum mismatch"},
		"future version": {future, "newer than this build"},
		"absurd size":    {huge, "out of range"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := artifact.Decode(bytes.NewReader(tc.in))
			if err == nil || !errors.Is(err, artifact.ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrFormat containing %q", err, tc.want)
			}
		})
	}
	if _, err := artifact.Load(filepath.Join(t.TempDir(), "nope.model")); err == nil || !strings.Contains(err.Error(), "open model") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestValidateCatchesInconsistency(t *testing.T) {
	m := artifacttest.Anomaly([]string{"a", "b"}, 4)
	m.ResidualScale = m.ResidualScale[:1]
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "residual_scale") {
		t.Fatalf("validate: %v", err)
	}
	m = artifacttest.Anomaly([]string{"a", "b"}, 4)
	m.ResidualScale[1] = 0 // every score would be infinite: refused (issue 16.13)
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "residual_scale of target 1 is 0") {
		t.Fatalf("validate with a zero residual scale: %v", err)
	}
	m = artifacttest.Anomaly([]string{"a", "b"}, 4)
	m.Targets = []string{"a", "zzz"}
	if err := m.Save(filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), `target "zzz"`) {
		t.Fatalf("save of invalid model: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	good := artifacttest.Anomaly([]string{"a"}, 4)
	var b bytes.Buffer
	_ = good.Encode(&b)
	f.Add(b.Bytes())
	f.Add([]byte("FAULTLINE-MODEL 1 2 sha256:00\n{}"))
	f.Add([]byte("FAULTLINE-MODEL 1 10 sha256:x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := artifact.Decode(bytes.NewReader(data))
		if err == nil {
			if verr := m.Validate(); verr != nil {
				t.Fatalf("decoded model does not validate: %v", verr)
			}
		}
	})
}
